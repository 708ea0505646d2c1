import { useRef, useState } from 'preact/hooks'
import type { components, paths } from '../../../client/api.d.ts'
import { api } from '../lib/api.ts'
import type { Night } from './night.ts'
import { go } from './route.ts'
import { ErrorText, ok, Section, SignInFirst, useAction, useLoad } from './ui.tsx'

type Game = components['schemas']['Game']
type PickResult = components['schemas']['PickResult']
type PickBody = NonNullable<paths['/api/pick']['post']['requestBody']>['content']['application/json']

const yesNo = (flag: 0 | 1) => flag ? 'yes' : 'no'

/** The picker's filters as the form holds them; the audience filter becomes excludeIds (the picker has no such field). */
function readFilters (form: HTMLFormElement, games: Game[]): PickBody {
  const data = new FormData(form)
  const text = (name: string) => String(data.get(name) ?? '')
  const body: PickBody = {}
  if (text('playerCount')) body.playerCount = Number(text('playerCount'))
  if (text('length')) body.length = text('length') as 'short'
  if (text('gameType')) body.gameType = text('gameType')
  if (text('familyFriendly')) body.familyFriendly = text('familyFriendly') === 'true'
  if (text('drawing')) body.drawing = text('drawing') as 'only'
  const packs = data.getAll('packs').map(String)
  if (packs.length) body.packs = packs
  const audience = text('audience')
  if (audience) body.excludeIds = games.filter((game) => (game.has_audience === 1) !== (audience === 'yes')).map((game) => game.id)
  return body
}

export function Pick ({ night, signedIn }: { night: Night, signedIn: boolean }) {
  const packs = useLoad(() => ok(api.GET('/api/games/packs')), [])
  const games = useLoad(() => ok(api.GET('/api/games', { params: { query: { enabled: true } } })), [])
  const form = useRef<HTMLFormElement>(null)
  const [result, setResult] = useState<PickResult | null>(null)
  const picking = useAction()

  async function pick (another: boolean) {
    const body = readFilters(form.current!, games.data ?? [])
    // "Another" never offers the game on screen again; the session's last two games are left out too.
    if (another && result) body.excludeIds = [...body.excludeIds ?? [], result.game.id]
    if (night.session) body.sessionId = night.session.id
    const answer = await picking.run(() => ok(api.POST('/api/pick', { body })))
    if (answer) setResult(answer)
  }

  const types = [...new Set((games.data ?? []).map((game) => game.game_type).filter((type): type is string => !!type))].sort()
  return (
    <>
      <form ref={form} class='filters' aria-labelledby='filters-heading' onSubmit={(event) => { event.preventDefault(); pick(false) }}>
        <h2 id='filters-heading'>Filters</h2>
        <div class='grid'>
          <p class='field'>
            <label for='pick-players'>Players</label>
            <input id='pick-players' name='playerCount' type='number' inputMode='numeric' min={1} max={1000} />
          </p>
          <p class='field'>
            <label for='pick-length'>Length</label>
            <select id='pick-length' name='length'>
              <option value=''>Any length</option>
              <option value='short'>Short (15 min or less)</option>
              <option value='medium'>Medium (16 to 25 min)</option>
              <option value='long'>Long (over 25 min)</option>
            </select>
          </p>
          <p class='field'>
            <label for='pick-type'>Type</label>
            <select id='pick-type' name='gameType'>
              <option value=''>Any type</option>
              {types.map((type) => <option key={type} value={type}>{type}</option>)}
            </select>
          </p>
          <p class='field'>
            <label for='pick-family'>Family-friendly</label>
            <select id='pick-family' name='familyFriendly'>
              <option value=''>Either</option>
              <option value='true'>Family-friendly only</option>
              <option value='false'>Not family-friendly</option>
            </select>
          </p>
          <p class='field'>
            <label for='pick-audience'>Audience</label>
            <select id='pick-audience' name='audience'>
              <option value=''>Either</option>
              <option value='yes'>With an audience</option>
              <option value='no'>Without an audience</option>
            </select>
          </p>
          <p class='field'>
            <label for='pick-drawing'>Drawing</label>
            <select id='pick-drawing' name='drawing'>
              <option value=''>Either</option>
              <option value='only'>Drawing games only</option>
              <option value='exclude'>No drawing games</option>
            </select>
          </p>
        </div>
        <fieldset class='packs'>
          <legend>Packs (none checked: every pack)</legend>
          <ErrorText error={packs.error ?? games.error} />
          {(packs.data ?? []).filter((pack) => pack.enabled > 0).map((pack, i) => (
            <label key={pack.name} class='check'>
              <input type='checkbox' name='packs' value={pack.name} id={`pick-pack-${i}`} /> {pack.name}
            </label>
          ))}
        </fieldset>
        <div class='row'>
          <button type='submit' class='primary' disabled={picking.busy}>Pick a game</button>
          {result && <button type='button' disabled={picking.busy} onClick={() => pick(true)}>Another</button>}
          <ErrorText error={picking.error} />
        </div>
      </form>
      {result && <Picked key={result.game.id} result={result} night={night} signedIn={signedIn} />}
    </>
  )
}

function Picked ({ result, night, signedIn }: { result: PickResult, night: Night, signedIn: boolean }) {
  const { game } = result
  const adding = useAction()
  async function playIt (event: Event) {
    event.preventDefault()
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('room_code') as HTMLInputElement
    const roomCode = input.value.trim().toUpperCase()
    const session = night.session!
    const added = await adding.run(() => ok(api.POST('/api/sessions/{id}/games', {
      params: { path: { id: session.id } },
      body: { game_id: game.id, ...roomCode ? { room_code: roomCode } : {} }
    })))
    if (!added) return
    night.refresh()
    go('tonight')
  }
  return (
    <Section title={game.title} id='picked'>
      <dl class='facts'>
        <div><dt>Pack</dt><dd>{game.pack_name}</dd></div>
        <div><dt>Players</dt><dd>{game.min_players} to {game.max_players}</dd></div>
        <div><dt>Length</dt><dd>{game.length_minutes === null ? 'unknown' : `${game.length_minutes} min`}</dd></div>
        <div><dt>Type</dt><dd>{game.game_type ?? 'unknown'}</dd></div>
        <div><dt>Family-friendly</dt><dd>{yesNo(game.family_friendly)}</dd></div>
        <div><dt>Audience</dt><dd>{yesNo(game.has_audience)}</dd></div>
        <div><dt>Drawing</dt><dd>{yesNo(game.drawing)}</dd></div>
        <div><dt>Votes</dt><dd>{game.upvotes} up, {game.downvotes} down</dd></div>
        <div><dt>Played</dt><dd>{game.play_count === 1 ? 'once' : `${game.play_count} times`}</dd></div>
      </dl>
      <p class='muted'>Picked from {result.poolSize} matching {result.poolSize === 1 ? 'game' : 'games'} ({result.totalEnabled} enabled in all).</p>
      {!signedIn
        ? <SignInFirst what='add it to tonight' />
        : !night.session
            ? <p class='notice'>No night is running: <a href='#/tonight'>start one on Tonight</a> to play it.</p>
            : (
              <form class='row' onSubmit={playIt}>
                <label for='play-code'>Room code (optional)</label>
                <input id='play-code' name='room_code' class='code-input' size={6} maxLength={4} autoComplete='off' autoCapitalize='characters' spellcheck={false} />
                <button type='submit' class='primary' disabled={adding.busy}>Play it</button>
                <ErrorText error={adding.error} />
              </form>
              )}
    </Section>
  )
}
