/** What @twurple/chat 8 takes instead of a URL. */
export interface TwitchClientTarget { hostName: string, ssl: boolean, webSocket: true }

/**
 * Maps TWITCH_CHAT_URL (ws:// or wss://, a host and an optional port, no path) onto @twurple/chat's options.
 * The library (8.2) always connects to `ws[s]://{hostName}:{80|443}`: it has no port option, and a `host:port`
 * hostName makes `ws://host:port:443`, an invalid URL. A port other than the scheme's own therefore goes into the
 * hostName followed by `/`, so the library's `:443` lands in the path (`ws://host:port/:443`), which the server ignores.
 */
export function twitchClientTarget (url: string): TwitchClientTarget {
  const parsed = new URL(url)
  const ssl = parsed.protocol === 'wss:'
  if (parsed.protocol !== 'ws:' && !ssl) throw new Error(`TWITCH_CHAT_URL must be a ws:// or wss:// URL: ${url}`)
  // URL drops a port that is the scheme's default, so `port` is set only for another one.
  return { hostName: parsed.port ? `${parsed.host}/` : parsed.hostname, ssl, webSocket: true }
}
