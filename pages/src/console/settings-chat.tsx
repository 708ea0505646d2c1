import { getToken } from '../lib/api.ts'
import { ApiFailure, ConfirmButton, ErrorText, ok, Section, Time, useAction, useLoad } from './ui.tsx'

interface ChatSource {
  id: number
  platform: string
  channel: string
  enabled: 0 | 1
  status: 'connecting' | 'connected' | 'error' | 'disabled'
  status_message: string | null
  last_message_at: string | null
  votes_counted: number
  votes_refused: number
}

// Called with fetch rather than the typed client: the route is newer than some services this console may face,
// and a service without it answers 404, which the panel explains.
async function call<T> (method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${getToken() ?? ''}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  const data = text ? JSON.parse(text) : undefined
  return ok(Promise.resolve({ data, error: response.ok ? undefined : data, response })) as Promise<T>
}

const STATUS_TEXT: Record<ChatSource['status'], string> = { connecting: 'connecting', connected: 'connected', error: 'error', disabled: 'disabled' }

/** Live chats the service reads itself, counting `thisgame++` and `thisgame--` as votes. */
export function ChatSources () {
  const sources = useLoad(() => call<ChatSource[]>('GET', '/api/chat-sources').catch((err) => {
    if (err instanceof ApiFailure && err.status === 404) return null
    throw err
  }), [])
  const adding = useAction()

  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const channel = (form.elements.namedItem('channel') as HTMLInputElement).value.trim()
    if (await adding.run(() => call('POST', '/api/chat-sources', { platform: 'twitch', channel }))) {
      form.reset()
      sources.reload()
    }
  }

  if (sources.data === null) {
    return (
      <Section title='Chat sources'>
        <p class='notice'>This service does not read chats itself yet (it answered 404 for its chat sources). Bots can still send votes with a bot token.</p>
      </Section>
    )
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
  const path = `/api/chat-sources/${source.id}`
  async function act (method: string, body?: unknown) {
    if ((await run(() => call(method, path, body).then(() => true)))) onChanged()
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
        <button type='button' disabled={busy} onClick={() => act('PATCH', { enabled: !source.enabled })}>{source.enabled ? 'Disable' : 'Enable'}</button>
        <button type='button' onClick={onChanged}>Refresh</button>
        <ConfirmButton label='Delete' confirm={`Delete ${name}`} disabled={busy} onConfirm={() => act('DELETE')} />
        <ErrorText error={error} />
      </div>
    </li>
  )
}
