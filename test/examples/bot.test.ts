import t from 'tap'
import { once } from 'node:events'
import { build, authHeaders, ADMIN_KEY } from '../helper.ts'
import { startBot } from '../../examples/bot.ts'

t.test('the example bot counts a game night\'s chat votes against the real service', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const headers = authHeaders(app)
  const lines: string[] = []
  const bot = await startBot({ baseUrl: `http://127.0.0.1:${port}`, adminKey: ADMIN_KEY, log: (line) => lines.push(line) })
  t.teardown(() => bot.close())

  // The bot follows the session it is told about on the live socket.
  const subscribed = once(bot.events, 'subscribed')
  const session = (await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: {} })).json()
  await subscribed
  t.equal(bot.sessionId, session.id)

  const added = once(bot.events, 'game.added')
  const game = (await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games`, headers, payload: { game_id: 5 } })).json()
  await added

  t.match(await bot.chat('viewer1', 'thisgame++ love it'), { success: true, game: { id: 5, upvotes: 1, downvotes: 0 } })
  t.match(await bot.chat('viewer2', 'THISGAME--'), { success: true, game: { id: 5, upvotes: 1, downvotes: 1 } })
  t.equal(await bot.chat('viewer3', 'hello chat'), undefined, 'not a vote')
  t.match(await bot.chat('viewer3', 'thisgame++'), { game: { upvotes: 2 } })

  const votes = (await app.inject(`/api/sessions/${session.id}/votes`)).json()
  t.same(votes.votes.map((v: Record<string, unknown>) => ({ game_id: v.game_id, upvotes: v.upvotes, downvotes: v.downvotes })),
    [{ game_id: game.game_id, upvotes: 2, downvotes: 1 }])
  t.match(lines, [`following session ${session.id}`, /^now playing: /, /^viewer1 voted up/, /^viewer2 voted down/, /^viewer3 voted up/])
})
