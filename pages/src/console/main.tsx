import { render } from 'preact'

// Placeholder until the console's views land: the page, its bundle and its headers work end to end.
function Console () {
  return <main><h1>Game night console</h1></main>
}

render(<Console />, document.getElementById('app')!)
