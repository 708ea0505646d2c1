import { api, setToken } from '../lib/api.ts'
import { ErrorText, ok, useAction } from './ui.tsx'

/** The admin key buys a token for this tab only (sessionStorage): closing the tab or signing out forgets it. */
export function SignIn ({ onSignedIn, notice }: { onSignedIn: (token: string) => void, notice: string | null }) {
  const { busy, error, run } = useAction()
  async function submit (event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const key = (form.elements.namedItem('key') as HTMLInputElement).value
    const answer = await run(() => ok(api.POST('/api/auth/login', { body: { key } })))
    if (!answer) return
    setToken(answer.token)
    onSignedIn(answer.token)
  }
  return (
    <>
      <p class='lead'>Sign in with the service's admin key to run the night. Without it you can still follow tonight's games, the history and the stats.</p>
      {notice && <p class='notice' role='status'>{notice}</p>}
      <form class='stack narrow' onSubmit={submit}>
        <label for='admin-key'>Admin key</label>
        <input id='admin-key' name='key' type='password' autoComplete='current-password' required aria-describedby='sign-in-error' />
        <button type='submit' class='primary' disabled={busy}>Sign in</button>
        <ErrorText id='sign-in-error' error={error} />
      </form>
    </>
  )
}
