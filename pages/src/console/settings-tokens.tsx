import { useState } from 'preact/hooks'
import { api } from '../lib/api.ts'
import { ConfirmButton, ErrorText, ok, Section, Time, useAction, useLoad } from './ui.tsx'

interface TokenInfo { id: number, name: string, role: string, expiresAt: string, last_used_at: string | null }

/** Scoped tokens for bots and overlays: created here, shown once, revoked here. */
export function Tokens () {
  const tokens = useLoad(() => ok(api.GET('/api/auth/tokens')), [])
  const creating = useAction()
  const [created, setCreated] = useState<{ name: string, token: string } | null>(null)

  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim()
    const expiresIn = field('expiresIn')
    const body = { name: field('name'), role: field('role') as 'bot' | 'overlay', ...expiresIn ? { expiresIn } : {} }
    const answer = await creating.run(() => ok(api.POST('/api/auth/tokens', { body })))
    if (!answer) return
    setCreated(answer)
    form.reset()
    tokens.reload()
  }

  return (
    <Section title='Tokens'>
      <p class='muted'>A bot token may read, send live votes and import chat; an overlay token may only read and follow the night.</p>
      <form class='grid' onSubmit={submit} aria-label='New token'>
        <p class='field'><label for='token-name'>Name</label><input id='token-name' name='name' required maxLength={100} placeholder='chat bot' /></p>
        <p class='field'>
          <label for='token-role'>Role</label>
          <select id='token-role' name='role'><option value='bot'>Bot</option><option value='overlay'>Overlay</option></select>
        </p>
        <p class='field'><label for='token-expires'>Lifetime (optional, e.g. 30d)</label><input id='token-expires' name='expiresIn' /></p>
        <p class='field'><button type='submit' class='primary' disabled={creating.busy}>Create token</button></p>
        <ErrorText error={creating.error} />
      </form>
      {created && <ShownOnce id='new-token' value={created.token} label={`Token for ${created.name}: copy it now, it is not shown again`} />}
      <ErrorText error={tokens.error} />
      <ul class='list' aria-label='Tokens'>
        {(tokens.data ?? []).map((token) => <TokenRow key={token.id} token={token} onRevoked={() => tokens.reload()} />)}
      </ul>
      {tokens.data?.length === 0 && <p>No scoped token yet.</p>}
    </Section>
  )
}

export function ShownOnce ({ value, label, id }: { value: string, label: string, id: string }) {
  const [copied, setCopied] = useState('')
  async function copy () {
    try {
      await navigator.clipboard.writeText(value)
      setCopied('Copied.')
    } catch {
      setCopied('Copying is not allowed here: select the text and copy it.')
    }
  }
  return (
    <div class='notice' role='status'>
      <label for={id}>{label}</label>
      <div class='row'>
        <input id={id} class='secret' readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
        <button type='button' onClick={copy}>Copy</button>
        <span>{copied}</span>
      </div>
    </div>
  )
}

function TokenRow ({ token, onRevoked }: { token: TokenInfo, onRevoked: () => void }) {
  const { error, run, busy } = useAction()
  async function revoke () {
    if (await run(() => ok(api.DELETE('/api/auth/tokens/{id}', { params: { path: { id: token.id } } })))) onRevoked()
  }
  return (
    <li>
      <div class='item-head'>
        <h3>{token.name}</h3>
        <span class='muted'>{token.role}, expires <Time at={token.expiresAt} date />{token.last_used_at ? <>, last used <Time at={token.last_used_at} date /></> : ', never used'}</span>
      </div>
      <div class='row'>
        <ConfirmButton label='Revoke' confirm={`Revoke ${token.name}`} disabled={busy} onConfirm={revoke} />
        <ErrorText error={error} />
      </div>
    </li>
  )
}
