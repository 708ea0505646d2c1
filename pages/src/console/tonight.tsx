import { api } from '../lib/api.ts'
import { ExportButtons } from './export.tsx'
import type { Night } from './night.ts'
import { SessionGameCard } from './session-game.tsx'
import { ErrorText, ok, Section, SignInFirst, Time, useAction } from './ui.tsx'

export function Tonight ({ night, signedIn }: { night: Night, signedIn: boolean }) {
  if (!night.loaded) return <p role='status'>Loading tonight…</p>
  const { session } = night
  if (!session) {
    return (
      <>
        <ErrorText error={night.error} />
        <p class='lead'>No night is running.</p>
        {signedIn ? <StartNight onStarted={() => night.refresh()} /> : <SignInFirst what='start a night' />}
      </>
    )
  }
  return (
    <>
      <p class='lead'>
        Night #{session.id}, started <Time at={session.created_at} date />{session.notes ? `: ${session.notes}` : ''}.
        {' '}{night.games.length === 1 ? '1 game' : `${night.games.length} games`} so far.
      </p>
      <ErrorText error={night.error} />
      {night.games.length === 0
        ? <p>No game yet. <a href='#/pick'>Pick one</a>.</p>
        : (
          <ol class='games' aria-label="Tonight's games">
            {night.games.map((game) => (
              <li key={game.id}>
                <SessionGameCard game={game} votes={night.votes[game.game_id]} room={night.rooms[game.id]} signedIn={signedIn} onChanged={() => night.refresh()} />
              </li>
            ))}
          </ol>
          )}
      {signedIn && (
        <>
          <Section title='Export'><ExportButtons sessionId={session.id} /></Section>
          <CloseNight sessionId={session.id} onClosed={() => night.refresh()} />
        </>
      )}
    </>
  )
}

function StartNight ({ onStarted }: { onStarted: () => void }) {
  const { busy, error, run } = useAction()
  async function submit (event: Event) {
    event.preventDefault()
    const notes = ((event.currentTarget as HTMLFormElement).elements.namedItem('notes') as HTMLInputElement).value.trim()
    const started = await run(() => ok(api.POST('/api/sessions', { body: notes ? { notes } : {} })))
    if (started) onStarted()
  }
  return (
    <Section title='Start a night'>
      <form class='stack narrow' onSubmit={submit}>
        <label for='start-notes'>Notes (optional)</label>
        <input id='start-notes' name='notes' maxLength={10000} placeholder='Friday game night' />
        <button type='submit' class='primary' disabled={busy}>Start the night</button>
        <ErrorText error={error} />
      </form>
    </Section>
  )
}

function CloseNight ({ sessionId, onClosed }: { sessionId: number, onClosed: () => void }) {
  const { busy, error, run } = useAction()
  async function submit (event: Event) {
    event.preventDefault()
    const notes = ((event.currentTarget as HTMLFormElement).elements.namedItem('notes') as HTMLInputElement).value.trim()
    const closed = await run(() => ok(api.POST('/api/sessions/{id}/close', { params: { path: { id: sessionId } }, body: notes ? { notes } : {} })))
    if (closed) onClosed()
  }
  return (
    <Section title='Close the night'>
      <form class='stack narrow' onSubmit={submit}>
        <label for='close-notes'>Closing notes (optional, replace the night's notes)</label>
        <input id='close-notes' name='notes' maxLength={10000} />
        <button type='submit' class='primary' disabled={busy}>Close the night</button>
        <ErrorText error={error} />
      </form>
    </Section>
  )
}
