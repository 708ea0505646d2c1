import { createRequire } from 'node:module'

// autocannon ships no types; this is the part of its API the benchmarks use.

export interface AutocannonRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string
  /** Called before each request is sent: returns the request to send (e.g. with a fresh body). */
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest
}

export interface AutocannonResult {
  requests: { average: number, total: number }
  latency: { p99: number, average: number }
  non2xx: number
  errors: number
  timeouts: number
}

export type Autocannon = (opts: {
  url: string
  connections: number
  duration: number
  requests: AutocannonRequest[]
}) => Promise<AutocannonResult>

export const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
