import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { OverlayController, type OverlayState } from './controller.ts'
import { readOptions } from './options.ts'
import { OverlayView } from './view.tsx'
import './overlay.css'

const options = readOptions(new URL(location.href))
document.documentElement.dataset.layout = options.layout
document.documentElement.dataset.theme = options.theme
const controller = options.token ? new OverlayController(options.token) : null

function Overlay () {
  const [state, setState] = useState<OverlayState | null>(controller?.state ?? null)
  useEffect(() => {
    if (!controller) return
    const stop = controller.onChange(setState)
    // What changed between the first render and this effect (a forged token is refused that fast) was told to no one.
    setState(controller.state)
    return stop
  }, [])
  return (
    <>
      <h1 class='visually-hidden'>Game night overlay</h1>
      <OverlayView state={state ?? ({} as OverlayState)} options={options} />
    </>
  )
}

render(<Overlay />, document.getElementById('app')!)
