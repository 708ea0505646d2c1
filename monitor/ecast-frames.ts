// The frames of ecast's audience socket as the monitor reads them (docs/ecast.md, "The audience socket"): the types of
// an entity and a welcome, and their parsing. Shared by the socket (monitor/audience-socket.ts), which receives them,
// and the room state (monitor/room-state.ts), which interprets them.

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** One entity as ecast sends it: `object` entities carry `val`/`version`, the audience pn-counter a `count`. */
export interface EcastEntity {
  key: string
  val?: unknown
  version?: number
  count?: number
}

/** The parts of an audience `client/welcome` the monitor uses. */
export interface Welcome {
  id: number
  entities: Record<string, EcastEntity>
  /** Connected clients by id with their roles; null for audience connections (docs/ecast.md). */
  here: Record<string, { roles?: Record<string, unknown> }> | null
}

/** One entity from a frame: welcome entities are `[type, data, meta]`; updates carry the data object itself. */
export function parseEntity (value: unknown): EcastEntity | null {
  const data = Array.isArray(value) ? value[1] : value
  if (!isObject(data) || typeof data.key !== 'string') return null
  return {
    key: data.key,
    val: data.val,
    version: typeof data.version === 'number' ? data.version : undefined,
    count: typeof data.count === 'number' ? data.count : undefined
  }
}

/** The `result` of a `client/welcome` frame; malformed entities are left out. */
export function parseWelcome (result: Record<string, unknown>): Welcome {
  const entities: Record<string, EcastEntity> = {}
  if (isObject(result.entities)) {
    for (const value of Object.values(result.entities)) {
      const entity = parseEntity(value)
      if (entity) entities[entity.key] = entity
    }
  }
  return {
    id: typeof result.id === 'number' ? result.id : 0,
    entities,
    here: isObject(result.here) ? result.here as Welcome['here'] : null
  }
}
