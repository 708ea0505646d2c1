import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from '../lib/api.ts'

/** A refused or failed call, with the API's own sentence as its message. */
export class ApiFailure extends Error {
  readonly status: number
  constructor (message: string, status: number) {
    super(message)
    this.status = status
  }
}

const unauthorizedListeners = new Set<() => void>()

/** Called when the API answers 401: the token expired or was revoked. */
export function onUnauthorized (listener: () => void) {
  unauthorizedListeners.add(listener)
  return () => { unauthorizedListeners.delete(listener) }
}

interface Answer<T> { data?: T, error?: unknown, response: Response }

/** The data of a successful answer; anything else throws an ApiFailure carrying the API's sentence. */
export async function ok<T> (pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending
  if (!response.ok) {
    if (response.status === 401) for (const listener of unauthorizedListeners) listener()
    throw new ApiFailure(errorText(error ?? `The service answered ${response.status}`), response.status)
  }
  return data as T
}

export function describe (err: unknown): string {
  if (err instanceof ApiFailure) return err.message
  if (err instanceof TypeError) return 'The service cannot be reached. Check the connection and try again.'
  return errorText(err)
}

/** Runs one action at a time and keeps the words of its last failure, to show next to the control that caused it. */
export function useAction () {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const mounted = useRef(true)
  useEffect(() => () => { mounted.current = false }, [])
  const run = useCallback(async <T, >(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await fn()
    } catch (err) {
      if (mounted.current) setError(describe(err))
      return undefined
    } finally {
      if (mounted.current) setBusy(false)
    }
  }, [])
  return { busy, error, run, setError }
}

/** Loads data when `deps` change (and again on `reload()`), keeping the last good data while a reload runs. */
export function useLoad<T> (load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [round, setRound] = useState(0)
  useEffect(() => {
    let current = true
    load().then((value) => {
      if (!current) return
      setData(value)
      setError(null)
    }, (err) => { if (current) setError(describe(err)) })
    return () => { current = false }
  }, [...deps, round])
  const reload = useCallback(() => setRound((r) => r + 1), [])
  return { data, error, reload, setData }
}

/** An error answer, in words, where the person is looking. */
export function ErrorText ({ error, id }: { error: string | null | undefined, id?: string }) {
  return <p class='error' id={id} role='alert' hidden={!error}>{error}</p>
}

export function Section ({ title, children, id }: { title: string, children: ComponentChildren, id?: string }) {
  const headingId = `${id ?? slug(title)}-heading`
  return (
    <section class='panel' aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  )
}

export function slug (text: string) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })

export function Time ({ at, date }: { at: string, date?: boolean }) {
  const when = new Date(at)
  return <time dateTime={at}>{date ? `${dateFormat.format(when)}, ${timeFormat.format(when)}` : timeFormat.format(when)}</time>
}

/** Saves a Blob as a file the way a link with `download` would. */
export function saveFile (blob: Blob, name: string) {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A button that asks once more before it acts ("Remove" → "Really remove?" / "Keep"). */
export function ConfirmButton ({ label, confirm, onConfirm, disabled }: {
  label: string, confirm: string, onConfirm: () => void, disabled?: boolean
}) {
  const [asking, setAsking] = useState(false)
  const confirmRef = useRef<HTMLButtonElement>(null)
  useEffect(() => { if (asking) confirmRef.current?.focus() }, [asking])
  if (!asking) return <button type='button' class='danger' disabled={disabled} onClick={() => setAsking(true)}>{label}</button>
  return (
    <span class='confirm'>
      <button type='button' class='danger' ref={confirmRef} onClick={() => { setAsking(false); onConfirm() }}>{confirm}</button>
      <button type='button' onClick={() => setAsking(false)}>Cancel</button>
    </span>
  )
}

export function SignInFirst ({ what }: { what: string }) {
  return <p class='notice'><a href='#/sign-in'>Sign in</a> to {what}.</p>
}
