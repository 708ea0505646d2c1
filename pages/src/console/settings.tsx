import { ChatSources } from './settings-chat.tsx'
import { Clients } from './settings-clients.tsx'
import { OverlayLink } from './settings-overlay.tsx'
import { Tokens } from './settings-tokens.tsx'
import { Webhooks } from './settings-webhooks.tsx'

export function Settings () {
  return (
    <>
      <nav aria-label='Settings sections' class='row'>
        <a href='#tokens-heading' onClick={jump}>Tokens</a>
        <a href='#webhooks-heading' onClick={jump}>Webhooks</a>
        <a href='#connected-clients-heading' onClick={jump}>Connected clients</a>
        <a href='#chat-sources-heading' onClick={jump}>Chat sources</a>
        <a href='#overlay-heading' onClick={jump}>Overlay</a>
      </nav>
      <Tokens />
      <Webhooks />
      <Clients />
      <ChatSources />
      <OverlayLink />
    </>
  )
}

// In-page links must not change the hash, which names the view.
function jump (event: Event) {
  event.preventDefault()
  const target = document.getElementById((event.currentTarget as HTMLAnchorElement).hash.slice(1))
  if (!target) return
  target.tabIndex = -1
  target.focus()
  target.scrollIntoView()
}
