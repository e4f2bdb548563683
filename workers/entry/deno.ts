// `deno serve workers/entry/deno.ts`: bindings come from the process environment.
import app from '../app.ts'

export default {
  fetch: (req: Request) => app.fetch(req, Deno.env.toObject()),
} satisfies Deno.ServeDefaultExport
