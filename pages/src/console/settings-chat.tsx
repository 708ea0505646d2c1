import { api, type Schemas } from '../lib/api.ts'
import { ConfirmButton, ErrorText, ok, Section, Time, useAction, useLoad } from './ui.tsx'

type ChatSource = Schemas['ChatSource']

const STATUS_TEXT: Record<ChatSource['status'], string> = { connecting: 'connecting', connected: 'connected', error: 'error', disabled: 'disabled' }

/** Live chats the service reads itself, counting `thisgame++` and `thisgame--` as votes. */
export function ChatSources () {
  const sources = useLoad(() => ok(api.GET('/api/chat-sources')), [])
  const adding = useAction()

  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const channel = (form.elements.namedItem('channel') as HTMLInputElement).value.trim()
    if (await adding.run(() => ok(api.POST('/api/chat-sources', { body: { platform: 'twitch', channel } })))) {
      form.reset()
      sources.reload()
    }
  }

  return (
    <Section title='Chat sources'>
      <form class='row' onSubmit={submit} aria-label='New chat source'>
        <label for='chat-channel'>Twitch channel</label>
        <input id='chat-channel' name='channel' autoComplete='off' spellcheck={false} />
        <button type='submit' class='primary' disabled={adding.busy}>Add chat source</button>
        <ErrorText error={adding.error} />
      </form>
      <ErrorText error={sources.error} />
      {sources.data?.length === 0 && <p>No chat source yet.</p>}
      <ul class='list' aria-label='Chat sources'>
        {(sources.data ?? []).map((source) => <SourceRow key={source.id} source={source} onChanged={() => sources.reload()} />)}
      </ul>
    </Section>
  )
}

function SourceRow ({ source, onChanged }: { source: ChatSource, onChanged: () => void }) {
  const { busy, error, run } = useAction()
  const params = { path: { id: source.id } }
  async function act (call: () => Promise<unknown>) {
    if ((await run(() => call().then(() => true)))) onChanged()
  }
  const name = `${source.platform} ${source.channel}`
  return (
    <li>
      <div class='item-head'>
        <h3>{name}</h3>
        <span class='muted'>{STATUS_TEXT[source.status]}{source.status_message ? `: ${source.status_message}` : ''}</span>
      </div>
      <p class='meta'>
        {source.votes_counted} votes counted, {source.votes_refused} refused
        {source.last_message_at ? <>; last message at <Time at={source.last_message_at} /></> : '; no message yet'}
      </p>
      <div class='row' role='group' aria-label={name}>
        <button type='button' disabled={busy} onClick={() => act(() => ok(api.PATCH('/api/chat-sources/{id}', { params, body: { enabled: !source.enabled } })))}>{source.enabled ? 'Disable' : 'Enable'}</button>
        <button type='button' onClick={onChanged}>Refresh</button>
        <ConfirmButton label='Delete' confirm={`Delete ${name}`} disabled={busy} onConfirm={() => act(() => ok(api.DELETE('/api/chat-sources/{id}', { params })))} />
        <ErrorText error={error} />
      </div>
    </li>
  )
}
