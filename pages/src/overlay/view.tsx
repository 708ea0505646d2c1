import type { OverlayState } from './controller.ts'
import type { OverlayOptions } from './options.ts'

const SIGNED_OUT = 'This overlay\'s token was refused'

export function OverlayView ({ state, options }: { state: OverlayState, options: OverlayOptions }) {
  const { show } = options
  if (!options.token) {
    return <p class='notice'>No overlay token: open this page as /overlay#token=… with an overlay token from the console.</p>
  }
  if (state.status === 'signed-out') {
    return <p class='notice'>{SIGNED_OUT}{state.detail ? ` (${state.detail})` : ''}: make a new overlay link in the console.</p>
  }
  const { game } = state
  return (
    <>
      {state.status === 'reconnecting' && <p class='notice away' role='status'>Reconnecting…</p>}
      {game && (
        <section class='card' aria-label='Now playing' key={game.id}>
          {show.has('game') && (
            <div class='game'>
              <p class='label'>Now playing</p>
              <p class='title'>{game.title}</p>
              <p class='pack'>{game.pack_name}</p>
            </div>
          )}
          {show.has('players') && <Players state={state} code={options.code ? game.room_code : null} />}
          {show.has('votes') && (
            <div class='votes'>
              <p class='tally'>
                <span class='up'><span aria-hidden='true'>▲ </span>{state.up}<span class='visually-hidden'> up</span></span>{' '}
                <span class='down'><span aria-hidden='true'>▼ </span>{state.down}<span class='visually-hidden'> down</span></span>
              </p>
              <ul class='cues' aria-label='Latest votes'>
                {state.cues.map((cue) => (
                  <li key={cue.key} class={cue.type}>
                    <span aria-hidden='true'>{cue.type === 'up' ? '▲ ' : '▼ '}</span>{cue.username}
                    <span class='visually-hidden'> voted {cue.type}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </section>
      )}
    </>
  )
}

function Players ({ state, code }: { state: OverlayState, code: string | null }) {
  const count = state.players
  const text = count === null ? 'Players joining' : `${count} ${count === 1 ? 'player' : 'players'}`
  return (
    <p class='players'>
      <span>{text}</span>
      {code && <span class='code'>Room <b>{code}</b></span>}
    </p>
  )
}
