import { useState } from 'preact/hooks'
import { api, type Schemas } from '../lib/api.ts'
import { ErrorText, ok, Section, useAction } from './ui.tsx'

/** The catalog as CSV: a public download, and (signed in) an import that reports every line it skipped. */
export function CatalogCsv ({ signedIn, onImported }: { signedIn: boolean, onImported: () => void }) {
  const { busy, error, run, setError } = useAction()
  const [report, setReport] = useState<Schemas['CsvImportResult'] | null>(null)

  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0]
    const mode = (form.elements.namedItem('mode') as RadioNodeList).value as 'append' | 'replace'
    setReport(null)
    if (!file) {
      setError('Choose a CSV file to import')
      return
    }
    const csv = await file.text()
    const result = await run(() => ok(api.POST('/api/games/import/csv', { body: { csv, mode } })))
    if (!result) return
    setReport(result)
    onImported()
  }

  return (
    <Section title='CSV'>
      <p><a href='/api/games/export/csv' download='games.csv'>Download the catalog as CSV</a></p>
      {signedIn && (
        <form class='stack' onSubmit={submit} aria-label='Import CSV'>
          <label for='csv-file'>CSV file to import</label>
          <input id='csv-file' name='file' type='file' accept='.csv,text/csv' />
          <fieldset>
            <legend>Mode</legend>
            <label class='check'><input type='radio' name='mode' value='append' defaultChecked /> Append: add new games, update the ones it lists</label>
            <label class='check'><input type='radio' name='mode' value='replace' /> Replace: also remove games it does not list (never games a night has used)</label>
          </fieldset>
          <button type='submit' class='primary' disabled={busy}>Import</button>
          <ErrorText error={error} />
        </form>
      )}
      {report && (
        <div role='status' class='report'>
          <p>
            Imported {report.imported} new {report.imported === 1 ? 'game' : 'games'}, updated {report.updated},
            {' '}skipped {report.errorCount} {report.errorCount === 1 ? 'line' : 'lines'}.
          </p>
          {report.errors.length > 0 && (
            <ul>
              {report.errors.map((line) => <li key={line.line}>Line {line.line}: {line.error}</li>)}
            </ul>
          )}
          {report.errorCount > report.errors.length && <p>…and {report.errorCount - report.errors.length} more.</p>}
        </div>
      )}
    </Section>
  )
}
