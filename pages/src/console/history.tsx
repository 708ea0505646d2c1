import { useEffect, useState } from 'preact/hooks'
import { api, type Schemas } from '../lib/api.ts'
import { ExportButtons } from './export.tsx'
import { POLL_MS } from './night.ts'
import { ErrorText, ok, Section, Time, useLoad } from './ui.tsx'

/** Past nights and the stats: reloaded on every live change when signed in, every few seconds when not. */
export function History ({ signedIn, changes }: { signedIn: boolean, changes: number }) {
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (signedIn) return
    const timer = setInterval(() => setTick((n) => n + 1), POLL_MS)
    return () => clearInterval(timer)
  }, [signedIn])
  const stats = useLoad(() => ok(api.GET('/api/stats')), [changes, tick])
  const sessions = useLoad(() => ok(api.GET('/api/sessions')), [changes, tick])
  return (
    <>
      <Section title='Stats'>
        <ErrorText error={stats.error} />
        {stats.data && <Stats stats={stats.data} />}
      </Section>
      <Section title='Nights'>
        <ErrorText error={sessions.error} />
        {sessions.data?.length === 0 && <p>No night yet.</p>}
        <ul class='list'>
          {(sessions.data ?? []).map((session) => <NightItem key={session.id} session={session} signedIn={signedIn} changes={changes + tick} />)}
        </ul>
      </Section>
    </>
  )
}

function Stats ({ stats }: { stats: Schemas['Stats'] }) {
  return (
    <>
      <dl class='facts'>
        <div><dt>Games</dt><dd>{stats.games}</dd></div>
        <div><dt>Enabled</dt><dd>{stats.gamesEnabled}</dd></div>
        <div><dt>Packs</dt><dd>{stats.packs}</dd></div>
        <div><dt>Nights</dt><dd>{stats.sessions}</dd></div>
        <div><dt>Games played</dt><dd>{stats.totalGamesPlayed}</dd></div>
        <div><dt>Night running</dt><dd>{stats.activeSessionId === null ? 'none' : `#${stats.activeSessionId}`}</dd></div>
      </dl>
      <div class='grid'>
        <div>
          <h3>Most played</h3>
          <ol>{stats.mostPlayed.map((game) => <li key={game.id}>{game.title} ({game.play_count}×)</li>)}</ol>
        </div>
        <div>
          <h3>Top rated</h3>
          <ol>{stats.topRated.map((game) => <li key={game.id}>{game.title} ({game.popularity_score > 0 ? '+' : ''}{game.popularity_score})</li>)}</ol>
        </div>
      </div>
    </>
  )
}

function NightItem ({ session, signedIn, changes }: { session: Schemas['Session'], signedIn: boolean, changes: number }) {
  const [open, setOpen] = useState(false)
  return (
    <li>
      <details onToggle={(event) => setOpen((event.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          Night #{session.id}, <Time at={session.created_at} date />
          {session.is_active ? ' (running)' : ''}: {session.games_played === 1 ? '1 game' : `${session.games_played} games`}
          {session.notes ? `. ${session.notes}` : ''}
        </summary>
        {open && <NightDetails session={session} signedIn={signedIn} changes={changes} />}
      </details>
    </li>
  )
}

function NightDetails ({ session, signedIn, changes }: { session: Schemas['Session'], signedIn: boolean, changes: number }) {
  const params = { path: { id: session.id } }
  const games = useLoad(() => ok(api.GET('/api/sessions/{id}/games', { params })), [session.id, changes])
  const votes = useLoad(() => ok(api.GET('/api/sessions/{id}/votes', { params })), [session.id, changes])
  const tally = new Map((votes.data?.votes ?? []).map((row) => [row.game_id, row]))
  return (
    <div>
      <p class='muted'>
        Started <Time at={session.created_at} date />{session.closed_at && <>, closed <Time at={session.closed_at} date /></>}.
      </p>
      <ErrorText error={games.error ?? votes.error} />
      {games.data && games.data.length > 0 && (
        <div class='scroll'>
          <table>
            <caption class='muted'>Games of night #{session.id}</caption>
            <thead><tr><th scope='col'>Game</th><th scope='col'>Status</th><th scope='col'>Players</th><th scope='col'>Votes</th></tr></thead>
            <tbody>
              {games.data.map((game) => (
                <tr key={game.id}>
                  <td>{game.title}<br /><span class='muted'>{game.pack_name}, <Time at={game.played_at} /></span></td>
                  <td>{game.status}</td>
                  <td>{game.player_count ?? 'unknown'}</td>
                  <td>{tally.get(game.game_id)?.upvotes ?? 0} up, {tally.get(game.game_id)?.downvotes ?? 0} down</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {games.data?.length === 0 && <p>No game was played.</p>}
      {signedIn && <ExportButtons sessionId={session.id} />}
    </div>
  )
}
