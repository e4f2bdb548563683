// Cloudflare Workers: bindings arrive as the fetch handler's env.
export { default } from '../app.ts'
