import { useState } from 'preact/hooks'
import { api, type Schemas } from '../lib/api.ts'
import { ConfirmButton, ErrorText, ok, Section, Time, useAction, useLoad } from './ui.tsx'

type Webhook = Schemas['Webhook']
type WebhookLog = Schemas['WebhookLog']

const EVENTS = ['session.started', 'game.added', 'session.ended', 'vote.received', 'player-count.updated'] as const

/** Webhooks: create, pause or resume, send a test, read the last deliveries, delete. */
export function Webhooks () {
  const hooks = useLoad(() => ok(api.GET('/api/webhooks')), [])
  const creating = useAction()

  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const secret = String(data.get('secret') ?? '')
    const body = {
      name: String(data.get('name') ?? '').trim(),
      url: String(data.get('url') ?? '').trim(),
      events: data.getAll('events').map(String) as (typeof EVENTS[number])[],
      ...secret ? { secret } : {}
    }
    if (await creating.run(() => ok(api.POST('/api/webhooks', { body })))) {
      form.reset()
      hooks.reload()
    }
  }

  return (
    <Section title='Webhooks'>
      <form class='stack' onSubmit={submit} aria-label='New webhook'>
        <div class='grid'>
          <p class='field'><label for='hook-name'>Name</label><input id='hook-name' name='name' maxLength={100} /></p>
          <p class='field'><label for='hook-url'>URL</label><input id='hook-url' name='url' type='url' placeholder='https://' /></p>
          <p class='field'><label for='hook-secret'>Signing secret (optional)</label><input id='hook-secret' name='secret' type='password' autoComplete='off' /></p>
        </div>
        <fieldset class='packs'>
          <legend>Events</legend>
          {EVENTS.map((name) => <label key={name} class='check'><input type='checkbox' name='events' value={name} /> {name}</label>)}
        </fieldset>
        <button type='submit' class='primary' disabled={creating.busy}>Create webhook</button>
        <ErrorText error={creating.error} />
      </form>
      <ErrorText error={hooks.error} />
      {hooks.data?.length === 0 && <p>No webhook yet.</p>}
      <ul class='list' aria-label='Webhooks'>
        {(hooks.data ?? []).map((hook) => <WebhookRow key={hook.id} hook={hook} onChanged={() => hooks.reload()} />)}
      </ul>
    </Section>
  )
}

function outcome (log: WebhookLog) {
  const status = log.status_code === null ? 'no answer' : `HTTP ${log.status_code}`
  return `${log.success ? 'Delivered' : 'Failed'} (${status}${log.error ? `: ${log.error}` : ''}) in ${log.duration_ms} ms`
}

function WebhookRow ({ hook, onChanged }: { hook: Webhook, onChanged: () => void }) {
  const path = { id: hook.id }
  const action = useAction()
  const [tested, setTested] = useState<WebhookLog | null>(null)
  const [showLogs, setShowLogs] = useState(false)
  const [logsRound, setLogsRound] = useState(0)

  async function toggle () {
    if (await action.run(() => ok(api.PATCH('/api/webhooks/{id}', { params: { path }, body: { enabled: hook.enabled ? 0 : 1 } })))) onChanged()
  }
  async function test () {
    setTested(null)
    const log = await action.run(() => ok(api.POST('/api/webhooks/{id}/test', { params: { path } })))
    if (log) {
      setTested(log)
      setLogsRound((n) => n + 1)
    }
  }
  async function remove () {
    if (await action.run(() => ok(api.DELETE('/api/webhooks/{id}', { params: { path } })))) onChanged()
  }

  return (
    <li>
      <div class='item-head'>
        <h3>{hook.name}</h3>
        <span class='muted'>{hook.enabled ? 'enabled' : 'paused'}{hook.has_secret ? ', signed' : ''}</span>
      </div>
      <p class='meta'>{hook.url}<br />{hook.events.join(', ')}</p>
      <div class='row' role='group' aria-label={hook.name}>
        <button type='button' disabled={action.busy} onClick={toggle}>{hook.enabled ? 'Disable' : 'Enable'}</button>
        <button type='button' disabled={action.busy} onClick={test}>Send test</button>
        <button type='button' aria-expanded={showLogs} onClick={() => setShowLogs(!showLogs)}>Last deliveries</button>
        <ConfirmButton label='Delete' confirm={`Delete ${hook.name}`} disabled={action.busy} onConfirm={remove} />
        <ErrorText error={action.error} />
      </div>
      {tested && <p role='status'>Test: {outcome(tested)}.</p>}
      {showLogs && <Deliveries id={hook.id} round={logsRound} />}
    </li>
  )
}

function Deliveries ({ id, round }: { id: number, round: number }) {
  const logs = useLoad(() => ok(api.GET('/api/webhooks/{id}/logs', { params: { path: { id } } })), [id, round])
  if (logs.error) return <ErrorText error={logs.error} />
  if (!logs.data) return <p>Loading…</p>
  if (logs.data.length === 0) return <p>No delivery yet.</p>
  return (
    <div class='scroll'>
      <table>
        <caption class='muted'>The last {logs.data.length} deliveries, newest first</caption>
        <thead><tr><th scope='col'>When</th><th scope='col'>Event</th><th scope='col'>Attempt</th><th scope='col'>Outcome</th></tr></thead>
        <tbody>
          {logs.data.map((log) => (
            <tr key={log.id}><td><Time at={log.created_at} date /></td><td>{log.event}</td><td>{log.attempt}</td><td>{outcome(log)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
