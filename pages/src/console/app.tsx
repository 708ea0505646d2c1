import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { clearToken, getToken } from '../lib/api.ts'
import { Catalog } from './catalog.tsx'
import { History } from './history.tsx'
import { useNight, type Night } from './night.ts'
import { Pick } from './pick.tsx'
import { go, useRoute, VIEWS, type ViewId } from './route.ts'
import { Settings } from './settings.tsx'
import { SignIn } from './sign-in.tsx'
import { Tonight } from './tonight.tsx'
import { onUnauthorized, SignInFirst } from './ui.tsx'

const LIVE_TEXT: Record<Night['live'], string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost: reconnecting…',
  'signed-out': 'Signed out',
  polling: 'Signed out: updates every few seconds'
}

const TITLES: Record<ViewId, string> = { 'sign-in': 'Sign in', ...Object.fromEntries(VIEWS.map((v) => [v.id, v.label])) as Record<Exclude<ViewId, 'sign-in'>, string> }

export function App () {
  const [token, setTokenState] = useState(getToken)
  const [notice, setNotice] = useState<string | null>(null)
  const view = useRoute()

  const signOut = useCallback((why: string | null) => {
    clearToken()
    setTokenState(null)
    setNotice(why)
    if (why) go('sign-in')
  }, [])
  const expired = useCallback(() => signOut('Your sign-in expired or was revoked. Sign in again.'), [signOut])
  useEffect(() => onUnauthorized(() => { if (getToken()) expired() }), [expired])
  const night = useNight(token, expired)

  // A new view moves the focus to its heading, so keyboard and screen reader users start at its top. A layout effect
  // runs as the view renders: a plain effect waits for the next frame, and a Tab pressed meanwhile was undone (the
  // focus moved back to the heading after the user reached a field, and what they typed went nowhere).
  const heading = useRef<HTMLHeadingElement>(null)
  const main = useRef<HTMLElement>(null)
  const firstView = useRef(true)
  useLayoutEffect(() => {
    if (firstView.current) {
      firstView.current = false
      return
    }
    heading.current?.focus()
  }, [view])
  useEffect(() => { document.title = `${TITLES[view]} · Game night` }, [view])

  function signedIn (newToken: string) {
    setNotice(null)
    setTokenState(newToken)
    go('tonight')
  }

  let content
  switch (view) {
    case 'sign-in': content = token ? <p>You are signed in. <a href='#/tonight'>Go to tonight</a>.</p> : <SignIn onSignedIn={signedIn} notice={notice} />; break
    case 'tonight': content = <Tonight night={night} signedIn={!!token} />; break
    case 'pick': content = <Pick night={night} signedIn={!!token} />; break
    case 'catalog': content = <Catalog signedIn={!!token} />; break
    case 'history': content = <History signedIn={!!token} changes={night.changes} />; break
    case 'settings': content = token ? <Settings /> : <SignInFirst what='manage tokens, webhooks, connected clients, chat sources and the overlay link' />; break
  }

  return (
    <>
      <a class='skip' href='#main' onClick={(event) => { event.preventDefault(); main.current?.focus() }}>Skip to content</a>
      <header class='top'>
        <p class='brand'>Game night</p>
        <nav aria-label='Views'>
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}><a href={`#/${v.id}`} aria-current={view === v.id ? 'page' : undefined}>{v.label}</a></li>
            ))}
          </ul>
        </nav>
        <div class='account'>
          <p class={`live live-${night.live}`} role='status'>{LIVE_TEXT[night.live]}</p>
          {token
            ? <button type='button' onClick={() => signOut(null)}>Sign out</button>
            : <a href='#/sign-in' aria-current={view === 'sign-in' ? 'page' : undefined}>Sign in</a>}
        </div>
      </header>
      <main id='main' aria-label='Console' ref={main} tabIndex={-1}>
        <h1 ref={heading} tabIndex={-1}>{TITLES[view]}</h1>
        {content}
      </main>
    </>
  )
}
