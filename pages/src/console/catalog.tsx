import { useEffect, useState } from 'preact/hooks'
import type { paths } from '../../../client/api.d.ts'
import { api, type Schemas } from '../lib/api.ts'
import { CatalogCsv } from './catalog-csv.tsx'
import { ErrorText, ok, Section, useAction, useLoad } from './ui.tsx'

type Game = Schemas['Game']
type Pack = Schemas['Pack']
type GameQuery = NonNullable<paths['/api/games']['get']['parameters']['query']>

const FAVOR = [{ value: 1, label: 'Favor' }, { value: 0, label: 'Neutral' }, { value: -1, label: 'Disfavor' }] as const
const WEIGHT_TEXT = { 1: 'favored', 0: 'neutral', [-1]: 'disfavored' } as const

function readQuery (form: HTMLFormElement): GameQuery {
  const data = new FormData(form)
  const text = (name: string) => String(data.get(name) ?? '').trim()
  const query: GameQuery = {}
  if (text('q')) query.q = text('q')
  if (text('pack')) query.pack = text('pack')
  if (text('playerCount')) query.playerCount = Number(text('playerCount'))
  if (text('gameType')) query.gameType = text('gameType')
  for (const flag of ['enabled', 'familyFriendly', 'drawing'] as const) if (text(flag)) query[flag] = text(flag) === 'true'
  return query
}

export function Catalog ({ signedIn }: { signedIn: boolean }) {
  const [query, setQuery] = useState<GameQuery>({})
  const [round, setRound] = useState(0)
  const games = useLoad(() => ok(api.GET('/api/games', { params: { query } })), [JSON.stringify(query), round])
  const packs = useLoad(() => ok(api.GET('/api/games/packs')), [round])
  const all = useLoad(() => ok(api.GET('/api/games')), [])
  const types = [...new Set((all.data ?? []).map((game) => game.game_type).filter((type): type is string => !!type))].sort()
  const reloadAll = () => setRound((r) => r + 1)

  // Typing in the search waits for a pause; the other filters apply at once.
  const [pending, setPending] = useState<GameQuery | null>(null)
  useEffect(() => {
    if (!pending) return
    const timer = setTimeout(() => setQuery(pending), 250)
    return () => clearTimeout(timer)
  }, [pending])

  const onGameChanged = (game: Game) => {
    games.setData((list) => list?.map((old) => old.id === game.id ? game : old))
    packs.reload()
  }

  return (
    <>
      <form class='filters' aria-labelledby='search-heading' onInput={(event) => setPending(readQuery(event.currentTarget))} onSubmit={(event) => { event.preventDefault(); setQuery(readQuery(event.currentTarget)) }}>
        <h2 id='search-heading'>Search</h2>
        <div class='grid'>
          <p class='field'><label for='cat-q'>Title contains</label><input id='cat-q' name='q' type='search' maxLength={200} /></p>
          <p class='field'>
            <label for='cat-pack'>Pack</label>
            <select id='cat-pack' name='pack'>
              <option value=''>Every pack</option>
              {(packs.data ?? []).map((pack) => <option key={pack.name} value={pack.name}>{pack.name}</option>)}
            </select>
          </p>
          <p class='field'><label for='cat-players'>Players</label><input id='cat-players' name='playerCount' type='number' inputMode='numeric' min={1} /></p>
          <p class='field'>
            <label for='cat-type'>Type</label>
            <select id='cat-type' name='gameType'>
              <option value=''>Any type</option>
              {types.map((type) => <option key={type} value={type}>{type}</option>)}
            </select>
          </p>
          <FlagSelect id='cat-enabled' name='enabled' label='Enabled' yes='Enabled only' no='Disabled only' />
          <FlagSelect id='cat-family' name='familyFriendly' label='Family-friendly' yes='Family-friendly only' no='Not family-friendly' />
          <FlagSelect id='cat-drawing' name='drawing' label='Drawing' yes='Drawing games only' no='No drawing games' />
        </div>
      </form>
      <Section title='Packs'>
        <ErrorText error={packs.error} />
        <ul class='list'>
          {(packs.data ?? []).map((pack) => <PackRow key={pack.name} pack={pack} signedIn={signedIn} onChanged={reloadAll} />)}
        </ul>
      </Section>
      <Section title={games.data ? `Games (${games.data.length})` : 'Games'} id='games'>
        <ErrorText error={games.error} />
        {games.data?.length === 0 && <p>No game matches these filters.</p>}
        <ul class='list'>
          {(games.data ?? []).map((game) => <GameRow key={game.id} game={game} signedIn={signedIn} onChanged={onGameChanged} />)}
        </ul>
      </Section>
      <CatalogCsv signedIn={signedIn} onImported={reloadAll} />
    </>
  )
}

function FlagSelect ({ id, name, label, yes, no }: { id: string, name: string, label: string, yes: string, no: string }) {
  return (
    <p class='field'>
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        <option value=''>Either</option>
        <option value='true'>{yes}</option>
        <option value='false'>{no}</option>
      </select>
    </p>
  )
}

function PackRow ({ pack, signedIn, onChanged }: { pack: Pack, signedIn: boolean, onChanged: () => void }) {
  const { busy, error, run } = useAction()
  async function toggle (enabled: boolean) {
    if (await run(() => ok(api.PATCH('/api/games/packs/{name}/toggle', { params: { path: { name: pack.name } }, body: { enabled } })))) onChanged()
  }
  return (
    <li>
      <div class='item-head'>
        <h3>{pack.name}</h3>
        <span class='muted'>{pack.enabled} of {pack.total} enabled</span>
      </div>
      {signedIn && (
        <div class='row' role='group' aria-label={pack.name}>
          <button type='button' disabled={busy || pack.enabled === pack.total} onClick={() => toggle(true)}>Enable all</button>
          <button type='button' disabled={busy || pack.enabled === 0} onClick={() => toggle(false)}>Disable all</button>
          <ErrorText error={error} />
        </div>
      )}
    </li>
  )
}

function GameRow ({ game, signedIn, onChanged }: { game: Game, signedIn: boolean, onChanged: (game: Game) => void }) {
  const { busy, error, run } = useAction()
  async function change (call: () => Promise<Game>) {
    const updated = await run(call)
    if (updated) onChanged(updated)
  }
  const path = { id: game.id }
  return (
    <li>
      <div class='item-head'>
        <h3>{game.title}</h3>
        <span class='muted'>{game.enabled ? 'enabled' : 'disabled'}, {WEIGHT_TEXT[game.favor_bias]}</span>
      </div>
      <p class='meta'>
        {game.pack_name} · {game.min_players} to {game.max_players} players
        {game.length_minutes !== null && ` · ${game.length_minutes} min`}{game.game_type && ` · ${game.game_type}`}
        {' '}· {game.upvotes} up, {game.downvotes} down · played {game.play_count}×
      </p>
      {signedIn && (
        <div class='row' role='group' aria-label={game.title}>
          <button type='button' disabled={busy} onClick={() => change(() => ok(api.PATCH('/api/games/{id}/toggle', { params: { path } })))}>
            {game.enabled ? 'Disable' : 'Enable'}
          </button>
          {FAVOR.map((favor) => (
            <button
              key={favor.value} type='button' disabled={busy} aria-pressed={game.favor_bias === favor.value}
              onClick={() => change(() => ok(api.PATCH('/api/games/{id}/favor', { params: { path }, body: { favor_bias: favor.value } })))}
            >{favor.label}
            </button>
          ))}
          <ErrorText error={error} />
        </div>
      )}
    </li>
  )
}
