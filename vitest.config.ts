import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'schema/**/*.test.ts',
      'workers/**/*.test.ts',
      'relay/**/*.test.ts',
      'local/**/*.test.ts',
      'sdk/**/*.test.ts',
      'cli/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
