// Server-Sent Events read from a fetch() body. EventSource cannot send an
// Authorization header, and the token must not travel in the URL (proxies
// and access logs keep URLs), so the page reads the stream itself.

/** Yields {event, id, data} for each complete event; comments are skipped. */
export async function * readEvents (body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  let ev = { event: 'message', id: undefined, data: [] }
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += value
    let nl
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1))
      if (line === '') {
        if (ev.data.length > 0) yield { event: ev.event, id: ev.id, data: ev.data.join('\n') }
        ev = { event: 'message', id: ev.id, data: [] }
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') ev.event = val
      else if (field === 'data') ev.data.push(val)
      else if (field === 'id') ev.id = val
    }
  }
}
