import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const webRoot = fileURLToPath(new URL('.', import.meta.url))
const repoRoot = fileURLToPath(new URL('..', import.meta.url))

export default defineConfig({
  root: webRoot,
  // Relative asset URLs: the built files work from any CDN path, not only from the site root.
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // zod + MQTT.js + React are one app chunk of a few hundred KiB; no point warning about it.
    chunkSizeWarningLimit: 1024,
  },
  server: {
    port: 5173,
    // The app imports the SDK and the schema from the repository, outside web/.
    fs: { allow: [repoRoot] },
  },
})
