import { api } from '../lib/api.ts'
import { ErrorText, ok, saveFile, useAction } from './ui.tsx'

/** Download buttons for a session's export (an admin route, so a plain link cannot carry the token). */
export function ExportButtons ({ sessionId }: { sessionId: number }) {
  const { busy, error, run } = useAction()
  function download (format: 'json' | 'txt') {
    return run(async () => {
      const blob = await ok(api.GET('/api/sessions/{id}/export', {
        params: { path: { id: sessionId }, query: { format } },
        parseAs: 'blob'
      }))
      saveFile(blob as unknown as Blob, `session-${sessionId}.${format}`)
    })
  }
  return (
    <div class='row'>
      <button type='button' disabled={busy} onClick={() => download('json')}>Export JSON</button>
      <button type='button' disabled={busy} onClick={() => download('txt')}>Export TXT</button>
      <ErrorText error={error} />
    </div>
  )
}
