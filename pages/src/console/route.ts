import { useEffect, useState } from 'preact/hooks'

export const VIEWS = [
  { id: 'tonight', label: 'Tonight' },
  { id: 'pick', label: 'Pick' },
  { id: 'catalog', label: 'Catalog' },
  { id: 'history', label: 'History and stats' },
  { id: 'settings', label: 'Settings' }
] as const

export type ViewId = typeof VIEWS[number]['id'] | 'sign-in'

function fromHash (): ViewId {
  const id = location.hash.replace(/^#\/?/, '')
  return id === 'sign-in' || VIEWS.some((view) => view.id === id) ? id as ViewId : 'tonight'
}

/** The view named by the URL's hash (`#/pick`), so every view has a link and the back button works. */
export function useRoute (): ViewId {
  const [view, setView] = useState(fromHash)
  useEffect(() => {
    const update = () => setView(fromHash())
    addEventListener('hashchange', update)
    return () => removeEventListener('hashchange', update)
  }, [])
  return view
}

export function go (view: ViewId) {
  location.hash = `#/${view}`
}
