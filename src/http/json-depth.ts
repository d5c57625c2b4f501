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
  const n = buf.length
  for (let i = 0; i < n; i++) {
    const c = buf[i]
    if (c === QUOTE) {
      // Jump over the string with indexOf (native) instead of byte by byte:
      // audit bodies are mostly string contents.
      let j = i + 1
      for (;;) {
        j = buf.indexOf(QUOTE, j)
        if (j < 0) return false // unterminated: JSON.parse will say so
        let k = j - 1
        while (buf[k] === BACKSLASH) k--
        if ((j - 1 - k) % 2 === 0) break // an even run of backslashes: the quote is real
        j++
      }
      i = j
    } else if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++depth > max) return true
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) depth--
  }
  return false
}
