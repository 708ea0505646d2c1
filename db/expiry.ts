import { sql } from 'kysely'

/** `ttlMs` from now, in database time: a lease's or a row's expiry is never computed from a process clock. */
export const expiry = (ttlMs: number) => sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`
