// Nesting limit checked on the raw bytes before JSON.parse: a deeply nested
// body would otherwise cost the parser (and every walker after it) stack and
// time. One pass over the bytes, tracking strings so brackets inside them
// do not count.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJ = 0x7b
const OPEN_ARR = 0x5b
const CLOSE_OBJ = 0x7d
const CLOSE_ARR = 0x5d

export function exceedsDepth (buf: Buffer, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
      continue
    }
    if (c === QUOTE) inString = true
    else if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++depth > max) return true
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) depth--
  }
  return false
}
