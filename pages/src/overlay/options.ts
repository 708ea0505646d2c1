// What the streamer chose, from the page's address: /overlay?layout=bar&theme=light&show=game,votes&code=1#token=…
// The token is in the fragment, which the browser never sends: it stays out of server logs and Referer headers.

export const LAYOUTS = ['card', 'bar'] as const
export const THEMES = ['dark', 'light'] as const
export const PARTS = ['game', 'players', 'votes'] as const
export type Part = typeof PARTS[number]

export interface OverlayOptions {
  layout: typeof LAYOUTS[number]
  theme: typeof THEMES[number]
  show: Set<Part>
  code: boolean
  token: string | null
}

function oneOf<T extends string> (value: string | null, allowed: readonly T[]): T {
  return allowed.includes(value as T) ? value as T : allowed[0]
}

export function readOptions (url: URL): OverlayOptions {
  const query = url.searchParams
  const asked = (query.get('show') ?? '').split(',').map((part) => part.trim()).filter((part): part is Part => PARTS.includes(part as Part))
  const token = new URLSearchParams(url.hash.slice(1)).get('token')
  return {
    layout: oneOf(query.get('layout'), LAYOUTS),
    theme: oneOf(query.get('theme'), THEMES),
    show: new Set(asked.length ? asked : PARTS),
    code: ['1', 'true', 'yes'].includes(query.get('code') ?? ''),
    token: token || null
  }
}
