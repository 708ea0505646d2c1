import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'pages/dist/**', 'data/**', 'coverage/**', '.tap/**', 'client/api.d.ts'] }),
  // A TypeBox schema constant and its Static type share a name on purpose.
  { rules: { '@typescript-eslint/no-redeclare': 'off' } }
]
