import { render } from 'preact'

function Overlay () {
  return <p>Game night overlay</p>
}

render(<Overlay />, document.getElementById('app')!)
