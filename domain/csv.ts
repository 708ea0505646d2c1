// CSV for the catalog import and export: a one-pass reader that knows each record's line, and the cell escape that
// keeps spreadsheets from running an exported cell as a formula.

/** One record of CSV text: its fields, or why it was skipped; `line` is where it starts (the first line is 1). */
export type CsvRecord = { line: number, fields: string[], error?: undefined } | { line: number, error: string, fields?: undefined }

const LF = 10
const CR = 13
const SPACE = 32
const TAB = 9
const QUOTE = 34
const COMMA = 44

const isBlank = (c: number) => c === SPACE || c === TAB

/**
 * Reads CSV text record by record in one pass: RFC 4180 quoting (`""` inside quotes, line breaks in quoted fields),
 * fields trimmed of spaces and tabs, empty lines skipped, a leading BOM ignored. A record with a broken quote is
 * reported with its line and skipped up to the end of the line where the problem is; a quote left open at the end of
 * the text is reported once and reading resumes on the line after it, so one stray quote never swallows the rest.
 */
export function * readCsv (text: string): Generator<CsvRecord> {
  const n = text.length
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  let line = 1
  let resumedAfterOpenQuote = false
  while (i < n) {
    let c = text.charCodeAt(i)
    if (c === LF) { line++; i++; continue }
    if (c === CR && text.charCodeAt(i + 1) === LF) { line++; i += 2; continue }
    const start = i
    const startLine = line
    const fields: string[] = []
    let error: string | undefined
    for (;;) {
      while (i < n && isBlank(text.charCodeAt(i))) i++
      if (text.charCodeAt(i) === QUOTE) {
        let value = ''
        let from = ++i
        for (;;) {
          if (i >= n) break
          c = text.charCodeAt(i)
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) !== QUOTE) break
            value += text.slice(from, i + 1)
            i += 2
            from = i
            continue
          }
          if (c === LF) line++
          i++
        }
        if (i >= n) { error = 'Quote not closed'; break }
        value += text.slice(from, i++)
        while (i < n && isBlank(text.charCodeAt(i))) i++
        fields.push(value)
        c = text.charCodeAt(i)
        if (c === COMMA) { i++; continue }
        if (i >= n || c === LF || (c === CR && text.charCodeAt(i + 1) === LF)) break
        error = 'Invalid closing quote: a quoted field must be followed by a comma or the end of the line'
        break
      }
      const from = i
      while (i < n) {
        c = text.charCodeAt(i)
        if (c === COMMA || c === LF || c === QUOTE || (c === CR && text.charCodeAt(i + 1) === LF)) break
        i++
      }
      if (i < n && c === QUOTE) { error = 'Invalid opening quote: a quote inside an unquoted field'; break }
      fields.push(text.slice(from, i).replace(/[ \t]+$/, ''))
      if (i < n && c === COMMA) { i++; continue }
      break
    }
    if (error === undefined) {
      yield { line: startLine, fields }
    } else {
      yield { line: startLine, error }
      if (i >= n && !resumedAfterOpenQuote) {
        // Only once per text, so reading stays linear whatever the quotes; a second open quote takes the rest.
        resumedAfterOpenQuote = true
        i = start
        line = startLine
      }
      const next = text.indexOf('\n', i)
      i = next === -1 ? n : next
    }
    if (text.charCodeAt(i) === CR) i++
    if (text.charCodeAt(i) === LF) { line++; i++ }
  }
}

// A cell starting with one of these is a formula to a spreadsheet; `'` makes it text. Cells that already start with
// quotes before such a character get one more, so that unescaping is the exact inverse.
const FORMULA = /^'*[=+\-@\t\r]/
const ESCAPED = /^'+[=+\-@\t\r]/

/** The cell as exported: prefixed with `'` when a spreadsheet would read it as a formula. */
export const escapeCell = (value: string): string => FORMULA.test(value) ? `'${value}` : value

/** The cell as imported: the export's `'` prefix removed again. */
export const unescapeCell = (value: string): string => ESCAPED.test(value) ? value.slice(1) : value
