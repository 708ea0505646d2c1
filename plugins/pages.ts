import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic from '@fastify/static'

// The console (/) and the overlay (/overlay), built by pages/build.ts into pages/dist (dist/pages/dist once compiled:
// the same path relative to this file). Assets have content-hashed names, so they are cached for good; the HTML is
// revalidated on every load, so a new build shows at the next reload. Files are sent precompressed (.br, .gz).
const ROOT = fileURLToPath(new URL('../pages/dist/', import.meta.url))

// A same-origin WebSocket is matched by 'self' in CSP Level 3 browsers; the page's own ws(s)://host is named too for
// the browsers that predate it. Nothing from another origin, no inline script or style.
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/
function contentSecurityPolicy (host: string | undefined): string {
  const socket = host && HOST.test(host) ? ` ws://${host} wss://${host}` : ''
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${socket}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    // The console shows the overlay in a frame of its own; no other site may frame either page.
    "frame-ancestors 'self'"
  ].join('; ')
}

const pages: FastifyPluginAsync = async function pages (app) {
  app.addHook('onSend', async (request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy(request.headers.host))
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-content-type-options', 'nosniff')
  })

  await app.register(fastifyStatic, {
    root: `${ROOT}assets`,
    prefix: '/assets/',
    preCompressed: true,
    index: false,
    maxAge: '365d',
    immutable: true
  })

  function page (file: string) {
    return async (_request: FastifyRequest, reply: FastifyReply) => {
      if (!existsSync(ROOT + file)) {
        return reply.code(503).send({ error: 'The pages are not built: run npm run build:pages' })
      }
      reply.header('cache-control', 'no-cache')
      return reply.sendFile(file, ROOT, { cacheControl: false })
    }
  }
  app.get('/', { schema: { hide: true } }, page('console.html'))
  app.get('/overlay', { schema: { hide: true } }, page('overlay.html'))
}

export default pages
