// The folded observations of one change as a picture of its progress: one
// lane per kind of object (the Deployment, its ReplicaSets, Pods, slices,
// Events), a dot per observation coloured by source, over a bar from start
// to end coloured by outcome. Built with DOM calls, never from markup
// strings: names and notes come from the cluster.

const NS = 'http://www.w3.org/2000/svg'
const W = 720
const LEFT = 120
const RIGHT = 16
const LANE = 26
const TOP = 34
const SOURCES = ['audit', 'watch', 'event', 'admission']

function el (name, attrs = {}, text) {
  const e = document.createElementNS(NS, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  if (text !== undefined) e.textContent = text
  return e
}

export function relative (ms) {
  if (ms < 1000) return `+${Math.round(ms)} ms`
  if (ms < 120_000) return `+${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `+${Math.round(ms / 60_000)} min`
  return `+${(ms / 3_600_000).toFixed(1)} h`
}

/** An <svg> for the change's timeline, or undefined when it has none. */
export function timelineSvg (change) {
  const entries = (change.timeline ?? []).filter(e => Number.isFinite(Date.parse(e.at)))
  if (entries.length === 0) return undefined
  const times = entries.map(e => Date.parse(e.at))
  const start = Math.min(Date.parse(change.startedAt), ...times)
  let end = Math.max(Date.parse(change.endedAt), ...times)
  if (end <= start) end = start + 1000
  const lanes = []
  for (const e of entries) if (!lanes.includes(e.kind)) lanes.push(e.kind)
  const h = TOP + lanes.length * LANE + 30
  const x = t => LEFT + (t - start) / (end - start) * (W - LEFT - RIGHT)

  const svg = el('svg', { viewBox: `0 0 ${W} ${h}`, class: 'timeline', role: 'img', 'aria-labelledby': 'tl-title' })
  svg.append(el('title', { id: 'tl-title' }, `Timeline: ${entries.length} observations over ${relative(end - start).slice(1)}, ${change.outcome}`))
  // The change itself, start to end.
  svg.append(el('rect', { x: x(Date.parse(change.startedAt)), y: 8, width: Math.max(2, x(Date.parse(change.endedAt)) - x(Date.parse(change.startedAt))), height: 10, rx: 5, class: `bar outcome-${change.outcome}` }))
  svg.append(el('text', { x: LEFT - 8, y: 17, class: 'lane-label', 'text-anchor': 'end' }, change.outcome))

  lanes.forEach((kind, i) => {
    const y = TOP + i * LANE + LANE / 2
    svg.append(el('line', { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: 'lane' }))
    svg.append(el('text', { x: LEFT - 8, y: y + 4, class: 'lane-label', 'text-anchor': 'end' }, kind))
  })
  // Observations in one lane at nearly the same time would hide each other:
  // later ones step up and down a little.
  const last = new Map()
  entries.forEach((e, i) => {
    const lane = lanes.indexOf(e.kind)
    const cx = x(times[i])
    const prev = last.get(lane)
    const nudge = prev !== undefined && cx - prev.cx < 6 ? (prev.n + 1) % 3 : 0
    last.set(lane, { cx, n: nudge })
    const cy = TOP + lane * LANE + LANE / 2 + [0, -5, 5][nudge]
    const dot = el('circle', { cx, cy, r: 5, class: `dot src-${SOURCES.includes(e.source) ? e.source : 'other'}` })
    const who = e.user !== undefined ? ` by ${e.user}` : ''
    const sub = e.subresource !== undefined ? `/${e.subresource}` : ''
    dot.append(el('title', {}, `${relative(times[i] - start)} ${e.source} ${e.action} ${e.kind} ${e.name}${sub}${who}${e.note !== undefined ? ` — ${e.note}` : ''}`))
    svg.append(dot)
  })

  const axisY = TOP + lanes.length * LANE + 6
  svg.append(el('line', { x1: LEFT, x2: W - RIGHT, y1: axisY, y2: axisY, class: 'axis' }))
  for (let k = 0; k <= 4; k++) {
    const t = start + (end - start) * k / 4
    svg.append(el('line', { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4, class: 'axis' }))
    svg.append(el('text', { x: x(t), y: axisY + 18, class: 'tick', 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' }, relative(t - start)))
  }
  return svg
}

export function legend () {
  const p = document.createElement('p')
  p.className = 'legend'
  for (const s of SOURCES) {
    const span = document.createElement('span')
    span.className = `key src-${s}`
    span.textContent = s
    p.append(span)
  }
  return p
}
