// A LIST answer parsed item by item. JSON.parse of a whole page builds every
// full object of the page before the first is slimmed: megabytes that outlive
// the young generation, are promoted, and then die in the old one (most of a
// first sync's GC time). Here the top-level object is walked and each element
// of `items` is parsed on its own, handed over, and becomes garbage while
// still young. Strictly JSON: anything JSON.parse would reject is rejected.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

export function skipSpace (s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++
  return i
}

/** The index just past the string that opens at `i` (a quote). */
export function endOfString (s: string, i: number): number {
  let j = i + 1
  for (;;) {
    const q = s.indexOf('"', j)
    if (q < 0) throw new SyntaxError('unterminated string in JSON')
    // A quote preceded by an odd number of backslashes is escaped.
    let b = q - 1
    while (b > i && s.charCodeAt(b) === BACKSLASH) b--
    if ((q - 1 - b) % 2 === 0) return q + 1
    j = q + 1
  }
}

/** The index just past the JSON value that starts at `i` (not validated: JSON.parse of the slice does that). */
export function endOfValue (s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === QUOTE) return endOfString(s, i)
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    // A number, true, false or null: up to the next delimiter.
    let j = i
    while (j < s.length) {
      const d = s.charCodeAt(j)
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break
      j++
    }
    if (j === i) throw new SyntaxError(`unexpected character at position ${i} in JSON`)
    return j
  }
  let depth = 0
  let j = i
  while (j < s.length) {
    const d = s.charCodeAt(j)
    if (d === QUOTE) { j = endOfString(s, j); continue }
    if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++
    else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
      if (--depth === 0) return j + 1
    }
    j++
  }
  throw new SyntaxError('unterminated object or array in JSON')
}

/**
 * The text of the item object at `i` with the members of its `metadata`
 * named in `drop` left out (a `managedFields` is most of a Pod's metadata:
 * not building it is cheaper than building it to throw it away), and the
 * index just past the item.
 */
function itemWithout (s: string, i: number, drop: ReadonlySet<string>): { text: string, end: number } {
  let depth = 0
  let j = i
  let metadataNext = false
  let inMetadata = false
  /** Pairs of [from, to) ranges to leave out. */
  const cuts: number[] = []
  while (j < s.length) {
    const d = s.charCodeAt(j)
    if (d === QUOTE) {
      const e = endOfString(s, j)
      const afterKey = skipSpace(s, e)
      const isKey = s.charCodeAt(afterKey) === COLON
      if (isKey && depth === 1) {
        metadataNext = e - j === 10 && s.startsWith('metadata', j + 1)
      } else if (isKey && depth === 2 && inMetadata && drop.has(s.slice(j + 1, e - 1))) {
        const valueEnd = endOfValue(s, skipSpace(s, afterKey + 1))
        const next = skipSpace(s, valueEnd)
        if (s.charCodeAt(next) === COMMA) {
          cuts.push(j, next + 1)
        } else {
          // The last member: the comma before it goes instead.
          let before = j - 1
          while (before > i && isSpace(s.charCodeAt(before))) before--
          cuts.push(s.charCodeAt(before) === COMMA ? before : j, valueEnd)
        }
        j = valueEnd
        continue
      }
      j = e
      continue
    }
    if (d === OPEN_BRACE || d === OPEN_BRACKET) {
      depth++
      if (depth === 2) inMetadata = metadataNext && d === OPEN_BRACE
      metadataNext = false
    } else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
      if (depth === 2) inMetadata = false
      if (--depth === 0) {
        const end = j + 1
        if (cuts.length === 0) return { text: s.slice(i, end), end }
        let text = s.slice(i, cuts[0])
        for (let k = 1; k < cuts.length; k += 2) text += s.slice(cuts[k], k + 1 < cuts.length ? cuts[k + 1] : end)
        return { text, end }
      }
    } else if (d === COMMA && depth === 1) {
      metadataNext = false
    }
    j++
  }
  throw new SyntaxError('unterminated object or array in JSON')
}

function expect (s: string, i: number, c: number): number {
  if (s.charCodeAt(i) !== c) throw new SyntaxError(`expected ${String.fromCharCode(c)} at position ${i} in JSON`)
  return i + 1
}

/**
 * Parses `text`, a JSON object, calling `onItem` for each element of its
 * top-level `items` array in order, as soon as it is parsed, with the members
 * parsed before `items` (the apiserver sends kind, apiVersion and metadata
 * first). Returns the
 * object's other members (`items` becomes `true` when it was an array, so a
 * caller can tell "no items" from "items: []"; `null` stays `null`). An
 * `items` that is neither an array nor null is returned as parsed.
 * `dropMetadata`: members of each item's `metadata` to leave out unparsed.
 * Throws SyntaxError where JSON.parse would (a malformed member that is left
 * out may go unnoticed).
 */
export function parseListItems (text: string, onItem: (item: unknown, head: Readonly<Record<string, unknown>>) => void, dropMetadata?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let i = skipSpace(text, 0)
  i = expect(text, i, OPEN_BRACE)
  i = skipSpace(text, i)
  if (text.charCodeAt(i) === CLOSE_BRACE) {
    i++
  } else {
    for (;;) {
      i = skipSpace(text, i)
      if (text.charCodeAt(i) !== QUOTE) throw new SyntaxError(`expected a member name at position ${i} in JSON`)
      const keyEnd = endOfString(text, i)
      const key = JSON.parse(text.slice(i, keyEnd)) as string
      i = expect(text, skipSpace(text, keyEnd), COLON)
      i = skipSpace(text, i)
      if (key === 'items' && text.charCodeAt(i) === OPEN_BRACKET) {
        i = skipSpace(text, i + 1)
        if (text.charCodeAt(i) === CLOSE_BRACKET) {
          i++
        } else {
          for (;;) {
            i = skipSpace(text, i)
            let end: number
            if (dropMetadata !== undefined && dropMetadata.size > 0 && text.charCodeAt(i) === OPEN_BRACE) {
              const item = itemWithout(text, i, dropMetadata)
              end = item.end
              onItem(JSON.parse(item.text), out)
            } else {
              end = endOfValue(text, i)
              onItem(JSON.parse(text.slice(i, end)), out)
            }
            i = skipSpace(text, end)
            if (text.charCodeAt(i) === COMMA) { i++; continue }
            i = expect(text, i, CLOSE_BRACKET)
            break
          }
        }
        out[key] = true
      } else {
        const end = endOfValue(text, i)
        const v = JSON.parse(text.slice(i, end)) as unknown
        // As JSON.parse, a member named __proto__ is data, not the prototype.
        if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
        else out[key] = v
        i = end
      }
      i = skipSpace(text, i)
      if (text.charCodeAt(i) === COMMA) { i++; continue }
      i = expect(text, i, CLOSE_BRACE)
      break
    }
  }
  if (skipSpace(text, i) !== text.length) throw new SyntaxError(`unexpected data after the JSON object at position ${i}`)
  return out
}
