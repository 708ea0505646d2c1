import { useState } from 'preact/hooks'
import { api } from '../lib/api.ts'
import { LAYOUTS, PARTS, THEMES, type Part } from '../overlay/options.ts'
import { ShownOnce } from './settings-tokens.tsx'
import { ErrorText, ok, Section, useAction } from './ui.tsx'

// The labels of the overlay's options; the values and their order (the first is the default) are the overlay's own.
const LABELS: Record<typeof LAYOUTS[number] | typeof THEMES[number] | Part, string> = {
  card: 'Card in a corner',
  bar: 'Bar along the bottom',
  dark: 'Dark',
  light: 'Light',
  game: 'The game being played',
  players: 'Players in the room',
  votes: 'Votes'
}
const OVERLAY_OPTIONS = { layout: LAYOUTS, theme: THEMES }

/** The link to put in OBS: the options as query parameters, an overlay token in the fragment, and a live preview. */
export function OverlayLink () {
  const creating = useAction()
  const [token, setToken] = useState<string | null>(null)
  const [query, setQuery] = useState('')

  async function createToken () {
    const created = await creating.run(() => ok(api.POST('/api/auth/tokens', { body: { name: 'Stream overlay', role: 'overlay' } })))
    if (created) setToken(created.token)
  }

  function readOptions (form: HTMLFormElement) {
    const data = new FormData(form)
    const params = new URLSearchParams()
    for (const name of ['layout', 'theme'] as const) {
      const value = String(data.get(name))
      if (value !== OVERLAY_OPTIONS[name][0]) params.set(name, value)
    }
    const show = data.getAll('show').map(String)
    if (show.length !== PARTS.length) params.set('show', show.join(','))
    if (data.get('code')) params.set('code', '1')
    setQuery(params.toString())
  }

  const link = token ? `${location.origin}/overlay${query ? `?${query}` : ''}#token=${token}` : null
  return (
    <Section title='Overlay'>
      <p class='muted'>A browser source for OBS or Streamlabs (transparent, 1920×1080 or 1280×720) that follows tonight live.</p>
      <form class='stack' aria-label='Overlay options' onChange={(event) => readOptions(event.currentTarget)} onSubmit={(event) => event.preventDefault()}>
        <div class='grid'>
          <p class='field'>
            <label for='overlay-layout'>Layout (layout)</label>
            <select id='overlay-layout' name='layout'>{LAYOUTS.map((value) => <option key={value} value={value}>{LABELS[value]}</option>)}</select>
          </p>
          <p class='field'>
            <label for='overlay-theme'>Theme (theme)</label>
            <select id='overlay-theme' name='theme'>{THEMES.map((value) => <option key={value} value={value}>{LABELS[value]}</option>)}</select>
          </p>
        </div>
        <fieldset class='packs'>
          <legend>Show (show)</legend>
          {PARTS.map((value) => <label key={value} class='check'><input type='checkbox' name='show' value={value} defaultChecked /> {LABELS[value]}</label>)}
        </fieldset>
        <label class='check'><input type='checkbox' name='code' value='1' /> Show the room code (code)</label>
      </form>
      {!token
        ? (
          <div class='row'>
            <button type='button' class='primary' disabled={creating.busy} onClick={createToken}>Create an overlay token for the link</button>
            <ErrorText error={creating.error} />
          </div>
          )
        : (
          <>
            <ShownOnce id='overlay-link' value={link!} label='Overlay link (it holds the token: keep it private)' />
            <p><a href={link!} target='_blank' rel='noreferrer'>Open the overlay in a new tab</a></p>
            <iframe class='preview' title='Overlay preview' src={link!} />
          </>
          )}
    </Section>
  )
}
