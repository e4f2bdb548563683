import { useEffect, useState } from 'react'

export const SCREENS = ['org', 'employees', 'departments', 'groups', 'agents', 'audit'] as const
export type Screen = (typeof SCREENS)[number]

export interface Route {
  screen: Screen
  /** e.g. the employee being edited: #/employees/emp_lisi_002 */
  param: string | null
}

// Hash routes: a static host or CDN needs no rewrite rules for deep links.
function parse(hash: string): Route {
  const [, screen, param] = hash.replace(/^#/, '').split('/')
  const s = (SCREENS as readonly string[]).includes(screen ?? '') ? (screen as Screen) : 'org'
  return { screen: s, param: param ? decodeURIComponent(param) : null }
}

export function hrefOf(screen: Screen, param?: string): string {
  return `#/${screen}${param ? `/${encodeURIComponent(param)}` : ''}`
}

export function go(screen: Screen, param?: string): void {
  location.hash = hrefOf(screen, param)
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash))
  useEffect(() => {
    const on = () => setRoute(parse(location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}
