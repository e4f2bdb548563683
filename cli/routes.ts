import { rename, writeFile } from 'node:fs/promises'
import { readRouteFile } from '../relay/route-source.ts'
import { routeTable, type RouteTable } from '../relay/routes.ts'

/**
 * `mchat routes …`: edits the relay's routes file (MCHAT_ROUTES_FILE or --file). Relays follow the
 * file, so a change takes effect without a restart. Writes go through a rename: a relay never
 * reads half a file.
 */
export async function routesCommand(path: string | undefined, args: string[], print: (s: string) => void): Promise<void> {
  if (!path) throw new Error('routes: pass --file <routes.json> or set MCHAT_ROUTES_FILE')
  const [verb = 'show', action, value] = args
  const table = await readRouteFile(path)
  if (verb === 'show') return print(describe(table))
  if (!action) throw new Error(`routes ${verb} needs an action`)
  const route = table.actions[action]
  let next: RouteTable
  switch (verb) {
    case 'set': {
      const weight = Number(value)
      if (!route?.canary) throw new Error(`${action} has no canary to weigh`)
      if (value === undefined || !(weight >= 0 && weight <= 100)) throw new Error('routes set <action> <weight 0–100>')
      next = withRoute(table, action, { ...route, canary: { ...route.canary, weight } })
      break
    }
    case 'rollback':
      if (!route?.canary) throw new Error(`${action} has no canary to roll back`)
      next = withRoute(table, action, { ...route, canary: { ...route.canary, weight: 0 } })
      break
    case 'promote': {
      // The canary becomes the stable version; the old stable is forgotten.
      if (!route?.canary) throw new Error(`${action} has no canary to promote`)
      const { canary, ...rest } = route
      next = withRoute(table, action, { ...rest, stable: canary.target })
      break
    }
    default:
      throw new Error(`routes: unknown command ${verb} (show, set, promote, rollback)`)
  }
  const checked = routeTable.parse(next)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(checked, null, 2) + '\n')
  await rename(tmp, path)
  print(describe(checked))
}

const withRoute = (t: RouteTable, action: string, r: RouteTable['actions'][string]): RouteTable => ({ ...t, actions: { ...t.actions, [action]: r } })

const name = (t: { url?: string | undefined; worker?: string | undefined; version?: string | undefined }) => (t.version ? `${t.worker}@${t.version}` : t.url!)

function describe(t: RouteTable): string {
  const lines = [`default → ${name(t.default)}${t.timeout_ms ? ` (timeout ${t.timeout_ms} ms)` : ''}`]
  for (const [action, r] of Object.entries(t.actions)) {
    const stable = name(r.stable ?? t.default)
    const canary = r.canary ? `, canary ${name(r.canary.target)} at ${r.canary.weight} %${r.canary.analysis ? ' (analysed)' : ''}` : ''
    lines.push(`${action} → ${stable}${canary}${r.timeout_ms ? ` (timeout ${r.timeout_ms} ms)` : ''}`)
  }
  return lines.join('\n')
}
