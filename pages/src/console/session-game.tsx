import { api } from '../lib/api.ts'
import type { SessionGame, Tally } from './night.ts'
import { ConfirmButton, ErrorText, ok, Time, useAction } from './ui.tsx'

const STATUS_TEXT: Record<SessionGame['status'], string> = { playing: 'Playing', played: 'Played', skipped: 'Skipped' }

const CHECK_TEXT: Record<SessionGame['player_count_check_status'], string> = {
  not_started: 'not checked',
  checking: 'checking the room',
  completed: 'final',
  failed: 'room not found',
  stopped: 'check stopped'
}

interface CardProps {
  game: SessionGame
  votes: Tally | undefined
  room: string | undefined
  signedIn: boolean
  onChanged: () => void
}

/** One game of tonight: what is known about it, and (signed in) everything a host can do to it. */
export function SessionGameCard ({ game, votes, room, signedIn, onChanged }: CardProps) {
  const titleId = `game-${game.id}-title`
  return (
    <article class={`game game-${game.status}`} aria-labelledby={titleId}>
      <h2 id={titleId}>{game.title}</h2>
      <p class='meta'>{game.pack_name} · added <Time at={game.played_at} /></p>
      <dl class='facts'>
        <div><dt>Status</dt><dd>{STATUS_TEXT[game.status]}</dd></div>
        <div><dt>Room code</dt><dd class={game.room_code ? 'code' : undefined}>{game.room_code ?? 'none'}</dd></div>
        <div>
          <dt>Players</dt>
          <dd>{game.player_count ?? 'unknown'} <span class='muted'>({CHECK_TEXT[game.player_count_check_status]})</span></dd>
        </div>
        <div><dt>Votes tonight</dt><dd>{votes?.upvotes ?? 0} up, {votes?.downvotes ?? 0} down</dd></div>
      </dl>
      {room && <p class='room-note'>{room}</p>}
      {signedIn && <GameActions game={game} onChanged={onChanged} />}
    </article>
  )
}

function GameActions ({ game, onChanged }: { game: SessionGame, onChanged: () => void }) {
  const path = { sessionId: game.session_id, sessionGameId: game.id }
  const status = useAction()
  const code = useAction()
  const check = useAction()
  const count = useAction()
  const removal = useAction()

  async function setStatus (next: SessionGame['status']) {
    if (await status.run(() => ok(api.PATCH('/api/sessions/{sessionId}/games/{sessionGameId}/status', { params: { path }, body: { status: next } })))) onChanged()
  }
  async function setCode (event: Event) {
    event.preventDefault()
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('room_code') as HTMLInputElement
    const roomCode = input.value.trim().toUpperCase()
    if (await code.run(() => ok(api.PATCH('/api/sessions/{sessionId}/games/{sessionGameId}/room-code', { params: { path }, body: { room_code: roomCode } })))) {
      input.value = ''
      onChanged()
    }
  }
  async function setCheck (start: boolean) {
    const answer = await check.run<unknown>(() => start
      ? ok(api.POST('/api/sessions/{sessionId}/games/{sessionGameId}/start-player-check', { params: { path } }))
      : ok(api.POST('/api/sessions/{sessionId}/games/{sessionGameId}/stop-player-check', { params: { path } })))
    if (answer) onChanged()
  }
  async function setCount (event: Event) {
    event.preventDefault()
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('player_count') as HTMLInputElement
    // A blank or non-numeric entry goes to the service as is, so its own sentence explains what it expects.
    const value = input.value.trim() === '' ? undefined : Number(input.value)
    const body = { player_count: value } as { player_count: number }
    if (await count.run(() => ok(api.PATCH('/api/sessions/{sessionId}/games/{sessionGameId}/player-count', { params: { path }, body })))) {
      input.value = ''
      onChanged()
    }
  }
  async function remove () {
    if (await removal.run(() => ok(api.DELETE('/api/sessions/{sessionId}/games/{sessionGameId}', { params: { path } })))) onChanged()
  }

  const checking = game.player_count_check_status === 'checking'
  const idPrefix = `sg-${game.id}`
  return (
    <div class='actions' role='group' aria-labelledby={`game-${game.id}-title`}>
      <div class='row'>
        {game.status !== 'playing' && <button type='button' disabled={status.busy} onClick={() => setStatus('playing')}>Mark playing</button>}
        {game.status !== 'played' && <button type='button' disabled={status.busy} onClick={() => setStatus('played')}>Mark played</button>}
        {game.status !== 'skipped' && <button type='button' disabled={status.busy} onClick={() => setStatus('skipped')}>Mark skipped</button>}
        <ErrorText error={status.error} />
      </div>
      <form class='row' onSubmit={setCode}>
        <label for={`${idPrefix}-code`}>Room code</label>
        <input id={`${idPrefix}-code`} name='room_code' class='code-input' size={6} maxLength={4} autoComplete='off' autoCapitalize='characters' spellcheck={false} />
        <button type='submit' disabled={code.busy}>{game.room_code ? 'Change code' : 'Set code'}</button>
        <ErrorText error={code.error} />
      </form>
      <div class='row'>
        {checking
          ? <button type='button' disabled={check.busy} onClick={() => setCheck(false)}>Stop player check</button>
          : <button type='button' disabled={check.busy} onClick={() => setCheck(true)}>Start player check</button>}
        <ErrorText error={check.error} />
      </div>
      <form class='row' onSubmit={setCount}>
        <label for={`${idPrefix}-count`}>Players</label>
        <input id={`${idPrefix}-count`} name='player_count' type='number' inputMode='numeric' min={0} size={4} />
        <button type='submit' disabled={count.busy}>Set players</button>
        <ErrorText error={count.error} />
      </form>
      <div class='row'>
        <ConfirmButton label='Remove' confirm={`Remove ${game.title} from tonight`} disabled={removal.busy} onConfirm={remove} />
        <ErrorText error={removal.error} />
      </div>
    </div>
  )
}
