import { api, type Schemas } from '../lib/api.ts'
import { ErrorText, ok, Section, useAction, useLoad } from './ui.tsx'

/** The live clients that announced themselves (bots, overlays), on every process of the service. */
export function Clients () {
  const clients = useLoad(() => ok(api.GET('/api/clients')), [])
  return (
    <Section title='Connected clients'>
      <div class='row'>
        <button type='button' onClick={() => clients.reload()}>Refresh the list</button>
        <ErrorText error={clients.error} />
      </div>
      {clients.data?.sessions.length === 0 && <p>No client is connected.</p>}
      <ul class='list' aria-label='Connected clients'>
        {(clients.data?.sessions ?? []).map((client) => <ClientRow key={client.id} client={client} onGone={() => clients.reload()} />)}
      </ul>
    </Section>
  )
}

function ClientRow ({ client, onGone }: { client: Schemas['ClientSession'], onGone: () => void }) {
  const { busy, error, run } = useAction()
  async function disconnect () {
    if (await run(() => ok(api.POST('/api/clients/{clientId}/disconnect', { params: { path: { clientId: client.id } } })))) onGone()
  }
  return (
    <li>
      <div class='item-head'>
        <h3>{client.name}</h3>
        <span class='muted'>since {new Date(client.created_at).toLocaleTimeString()}</span>
      </div>
      <p class='meta'>
        {client.functions.length ? `Functions: ${client.functions.join(', ')}` : 'No function'}
        {client.subscriptions.length ? `; follows night ${client.subscriptions.map((id) => `#${id}`).join(', ')}` : ''}
        {client.user_key === null ? '; signed in with the admin key' : `; token #${client.user_key}`}
      </p>
      <div class='row'>
        <button type='button' disabled={busy} onClick={disconnect} aria-label={`Disconnect ${client.name}`}>Disconnect</button>
        <ErrorText error={error} />
      </div>
    </li>
  )
}
