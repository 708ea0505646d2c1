import { createHmac } from 'node:crypto'
import { request, type Dispatcher } from 'undici'
import type { WebhookLogInput } from '../db/webhooks.ts'

// One attempt at a webhook delivery: the signed POST with its timeout, and what came of it as webhook_logs stores it.

export interface AttemptResult {
  statusCode: number | null
  error: string | null
  success: boolean
  durationMs: number
}

/** Where an attempt goes: its webhook, the event it carries (a header), the URL and the signing secret. */
export interface AttemptTarget { webhook_id: number, event: string, url: string, secret: string | null }

/** How attempts are sent: through `dispatcher`, each cut off after `timeoutMs`, all aborted once `shutdown` is. */
export interface AttemptContext { dispatcher: Dispatcher, timeoutMs: number, shutdown: AbortSignal }

const signature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

/** POSTs `body` once; never throws: a failed request, a non-2xx answer, the timeout or the shutdown is the result's error. */
export async function sendAttempt (context: AttemptContext, target: AttemptTarget, body: string, deliveryId: string): Promise<AttemptResult> {
  const { dispatcher, timeoutMs, shutdown } = context
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'jackbox-gamenight-webhooks/1',
    'x-webhook-event': target.event,
    'x-webhook-delivery': deliveryId
  }
  if (target.secret !== null) headers['x-webhook-signature'] = signature(target.secret, body)
  const started = performance.now()
  let statusCode: number | null = null
  let error: string | null = null
  // One controller per attempt for both the timeout and shutdown (AbortSignal.any keeps its inputs alive on Node 20).
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), timeoutMs)
  const onShutdown = () => abort.abort(shutdown.reason)
  shutdown.addEventListener('abort', onShutdown, { once: true })
  try {
    const res = await request(target.url, { method: 'POST', headers, body, dispatcher, signal: abort.signal })
    statusCode = res.statusCode
    await res.body.dump()
    if (statusCode < 200 || statusCode >= 300) error = `The receiver answered ${statusCode}`
  } catch (err) {
    error = describe(err, context)
  } finally {
    clearTimeout(timer)
    shutdown.removeEventListener('abort', onShutdown)
  }
  return { statusCode, error, success: error === null, durationMs: Math.round(performance.now() - started) }
}

function describe (err: unknown, { timeoutMs, shutdown }: AttemptContext): string {
  if (shutdown.aborted) return 'Aborted: the service is shutting down'
  const { name, message, code } = err as { name?: string, message?: string, code?: string }
  if (name === 'TimeoutError') return `Timed out after ${timeoutMs} ms`
  return [code, message].filter(Boolean).join(': ') || 'Request failed'
}

/** An attempt's row in webhook_logs. */
export function attemptLogRow (webhookId: number, event: string, deliveryId: string, body: string, attempt: number,
  result: AttemptResult): WebhookLogInput {
  return {
    webhook_id: webhookId,
    event,
    delivery_id: deliveryId,
    payload: body,
    status_code: result.statusCode,
    success: result.success,
    error: result.error,
    attempt,
    duration_ms: result.durationMs
  }
}
