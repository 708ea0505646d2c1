import type { Kysely } from 'kysely'
import type { Database } from './types.ts'

/** Whether a session with this id exists (open or closed): a live client may only subscribe to a real session. */
export async function sessionExists (db: Kysely<Database>, id: number): Promise<boolean> {
  const row = await db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst()
  return row !== undefined
}
