#!/usr/bin/env node
// Node 20 cannot run TypeScript itself: tsx compiles the CLI on the fly.
import { register } from 'tsx/esm/api'

register()
await import('../cli/main.ts')
