import type { Migration, MigrationProvider } from 'kysely'
import * as initial from './2026_11_22_001_initial.ts'
import * as pickerIndex from './2026_11_22_020_picker_index.ts'
import * as catalogVersion from './2026_11_22_060_catalog_version.ts'
import * as eventLog from './2026_12_01_010_event_log.ts'
import * as webhookDeliveries from './2026_12_01_030_webhook_deliveries.ts'
import * as tokens from './2026_12_01_110_tokens.ts'
import * as voteWindow from './2026_12_01_120_vote_window.ts'
import * as roomLeases from './2026_12_01_130_room_leases.ts'
import * as liveClients from './2026_12_01_150_live_clients.ts'
import * as chatSources from './2026_12_04_210_chat_sources.ts'
import * as chatImports from './2026_12_04_220_chat_imports.ts'
import * as roomLeaseFence from './2026_12_04_240_room_lease_fence.ts'
import * as deliveryClaims from './2026_12_04_250_delivery_claims_and_fk_indexes.ts'
import * as roomWatchReports from './2026_12_05_040_room_watch_reports.ts'
import * as webhookLogsCreatedAt from './2026_12_05_050_webhook_logs_created_at.ts'
import * as catalogImports from './2026_12_05_410_catalog_imports.ts'
import * as leasesOffProcessRows from './2026_12_05_420_leases_off_process_rows.ts'
import * as sessionDeleting from './2026_12_05_420_session_deleting.ts'

// Listed by hand: a static list survives bundling and compiling, a directory scan does not.
const migrations: Record<string, Migration> = {
  '2026_11_22_001_initial': initial,
  '2026_11_22_020_picker_index': pickerIndex,
  '2026_11_22_060_catalog_version': catalogVersion,
  '2026_12_01_010_event_log': eventLog,
  '2026_12_01_030_webhook_deliveries': webhookDeliveries,
  '2026_12_01_110_tokens': tokens,
  '2026_12_01_120_vote_window': voteWindow,
  '2026_12_01_130_room_leases': roomLeases,
  '2026_12_01_150_live_clients': liveClients,
  '2026_12_04_210_chat_sources': chatSources,
  '2026_12_04_220_chat_imports': chatImports,
  '2026_12_04_240_room_lease_fence': roomLeaseFence,
  '2026_12_04_250_delivery_claims_and_fk_indexes': deliveryClaims,
  '2026_12_05_040_room_watch_reports': roomWatchReports,
  '2026_12_05_050_webhook_logs_created_at': webhookLogsCreatedAt,
  '2026_12_05_410_catalog_imports': catalogImports,
  '2026_12_05_420_leases_off_process_rows': leasesOffProcessRows,
  '2026_12_05_420_session_deleting': sessionDeleting
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () { return migrations }
}
