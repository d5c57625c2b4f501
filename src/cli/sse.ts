// An incremental Server-Sent Events parser (the WHATWG rules the stream
// needs: event, id, data lines, comments, any line ending), fed text as it
// arrives, returning the events completed so far.

export interface SseEvent { event: string, id?: string, data: string }

export class SseParser {
  #buf = ''
  #event = 'message'
  #data: string[] = []
  #id: string | undefined
  /** Comment lines seen (heartbeats), for whoever wants them. */
  comments: string[] = []

  feed (text: string): SseEvent[] {
    this.#buf += text
    const out: SseEvent[] = []
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buf)
      // A lone \r at the end may be half of \r\n: wait for more.
      if (m === null || (m[0] === '\r' && m.index === this.#buf.length - 1)) break
      const line = this.#buf.slice(0, m.index)
      this.#buf = this.#buf.slice(m.index + m[0].length)
      if (line === '') {
        if (this.#data.length > 0) out.push({ event: this.#event, data: this.#data.join('\n'), ...(this.#id !== undefined ? { id: this.#id } : {}) })
        this.#event = 'message'
        this.#data = []
        continue
      }
      if (line.startsWith(':')) { this.comments.push(line.slice(1).trim()); continue }
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') this.#event = value
      else if (field === 'data') this.#data.push(value)
      else if (field === 'id' && !value.includes('\0')) this.#id = value
    }
    return out
  }
}
