// The timeline page: the changes newest first from GET /changes, new ones
// live from GET /changes/stream, a detail view from GET /changes/:id.
// Filters live in the URL query so a filtered view can be shared. With a
// token configured the page asks for it and sends it as a bearer token;
// it is kept in this tab's sessionStorage only.

import { readEvents } from './sse.js'
import { legend, relative, timelineSvg } from './timeline.js'

const FILTERS = ['namespace', 'kind', 'type', 'outcome', 'user', 'cluster']
const TOKEN_KEY = 'kubechanges-token'
const PAGE = 100

const $ = id => document.getElementById(id)
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  rows: new Map(),
  cursor: null,
  generation: 0,
  abort: undefined,
  seen: { namespace: new Set(), kind: new Set(), user: new Set(), cluster: new Set() },
  opener: undefined
}

class Unauthorized extends Error {}

/** An element with attributes and children (strings become text, never markup). */
function h (tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') e.className = v
    else e.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c)
  return e
}

function filters () {
  const q = new URLSearchParams(location.search)
  const f = {}
  for (const k of FILTERS) { const v = q.get(k); if (v) f[k] = v }
  return f
}

function headers (extra = {}) {
  return state.token !== '' ? { ...extra, authorization: `Bearer ${state.token}` } : extra
}

async function api (path, init = {}) {
  const res = await fetch(path, { ...init, headers: headers(init.headers) })
  if (res.status === 401) throw new Unauthorized()
  return res
}

async function errorText (res) {
  try { return (await res.json()).message ?? res.statusText } catch { return res.statusText }
}

// ---- token --------------------------------------------------------------

function askToken () {
  // Nothing stays on screen without a token that works.
  state.abort?.abort()
  $('main').hidden = true
  $('changes').replaceChildren()
  state.rows.clear()
  setLive('locked', 'token required')
  $('token-error').textContent = state.token !== '' ? 'That token was not accepted.' : ''
  $('token-form').hidden = false
  $('token').focus()
}

$('token-form').addEventListener('submit', ev => {
  ev.preventDefault()
  state.token = $('token').value.trim()
  sessionStorage.setItem(TOKEN_KEY, state.token)
  $('token').value = ''
  load()
})

// ---- rows ---------------------------------------------------------------

function when (iso) {
  const d = new Date(iso)
  return h('time', { datetime: iso, title: iso },
    d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }),
    h('small', {}, d.toLocaleDateString([], { month: 'short', day: 'numeric' })))
}

function objectName (o) { return `${o.kind} ${o.namespace !== '' ? o.namespace + '/' : ''}${o.name}` }

function rowFor (c, live) {
  const li = h('li', { 'data-change-id': c.id, tabindex: 0, 'aria-haspopup': 'dialog', class: `row outcome-${c.outcome}${live ? ' new' : ''}` },
    when(c.endedAt),
    h('span', { class: 'badges' },
      h('span', { class: 'badge type' }, c.type),
      h('span', { class: `badge outcome outcome-${c.outcome}` }, c.outcome)),
    h('span', { class: 'object' }, objectName(c.object), c.cluster ? h('span', { class: 'cluster' }, ` @${c.cluster}`) : undefined),
    h('span', { class: 'summary' }, c.summary),
    h('span', { class: 'actor' }, c.actor?.username ?? 'controllers'))
  li.addEventListener('click', () => openDetail(c.id, li))
  li.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openDetail(c.id, li) }
  })
  return li
}

function remember (c) {
  const add = (k, v) => {
    if (!v || state.seen[k].has(v)) return
    state.seen[k].add(v)
    $(`dl-${k}`).append(h('option', { value: v }))
  }
  add('namespace', c.object.namespace)
  add('kind', c.object.kind)
  add('user', c.actor?.username)
  add('cluster', c.cluster)
  // The cluster filter only means something once changes carry a cluster.
  if (c.cluster || filters().cluster) $('cluster-filter').hidden = false
}

function addRow (c, live = false) {
  if (state.rows.has(c.id)) return
  state.rows.set(c.id, c)
  remember(c)
  const li = rowFor(c, live)
  const list = $('changes')
  // Newest first by end time; a live change is usually the newest.
  let before = null
  for (const other of list.children) {
    if (state.rows.get(other.dataset.changeId).endedAt < c.endedAt) { before = other; break }
  }
  list.insertBefore(li, before)
  $('count').textContent = `${state.rows.size} change${state.rows.size === 1 ? '' : 's'}`
}

// ---- loading and the live stream -----------------------------------------

function setLive (cls, text) {
  const el = $('live')
  el.className = `live ${cls}`
  el.textContent = text
}

function queryString (extra = {}) {
  const q = new URLSearchParams({ ...filters(), ...extra })
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

/** Opens the stream; resolves once the server answered (so the list fetched next misses nothing). */
function connect (generation, signal, lastId, backoff = 1000) {
  let opened
  const ready = new Promise(resolve => { opened = resolve })
  const retry = () => {
    if (signal.aborted || generation !== state.generation) return
    setLive('down', 'reconnecting…')
    // Resume where it stopped: the server sends what was recorded since.
    setTimeout(() => { void connect(generation, signal, lastId, Math.min(backoff * 2, 30_000)) }, backoff * (0.5 + Math.random() / 2))
  }
  void (async () => {
    try {
      const res = await api(`/changes/stream${queryString()}`, { signal, headers: lastId !== undefined ? { 'last-event-id': lastId } : {} })
      opened()
      if (!res.ok || res.body === null) { retry(); return }
      setLive('up', 'live')
      backoff = 1000
      for await (const ev of readEvents(res.body)) {
        if (ev.event !== 'change') continue
        lastId = ev.id
        addRow(JSON.parse(ev.data), true)
      }
      retry()
    } catch (err) {
      opened()
      if (signal.aborted) return
      if (err instanceof Unauthorized) askToken()
      else retry()
    }
  })()
  return ready
}

async function loadPage () {
  const path = `/changes${queryString({ limit: String(PAGE), ...(state.cursor ? { cursor: state.cursor } : {}) })}`
  let res = await api(path)
  // Overloaded (503): the server asks to come back shortly.
  for (let i = 0; res.status === 503 && i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    res = await api(path)
  }
  if (!res.ok) {
    $('count').textContent = `Cannot list changes: ${await errorText(res)}`
    return
  }
  const body = await res.json()
  for (const c of body.items) addRow(c)
  state.cursor = body.nextCursor
  $('more').hidden = state.cursor === null
  if (state.rows.size === 0) $('count').textContent = 'No changes match.'
}

async function load () {
  state.abort?.abort()
  state.abort = new AbortController()
  const generation = ++state.generation
  state.rows.clear()
  state.cursor = null
  $('changes').replaceChildren()
  $('count').textContent = 'Loading…'
  try {
    await connect(generation, state.abort.signal)
    if (generation !== state.generation) return
    await loadPage()
    $('token-form').hidden = true
    $('main').hidden = false
    const open = new URLSearchParams(location.search).get('change')
    if (open && !$('detail').open) await openDetail(open)
  } catch (err) {
    if (err instanceof Unauthorized) askToken()
    else $('count').textContent = `Cannot reach kubechanges: ${err.message}`
  }
}

$('more').addEventListener('click', () => { loadPage().catch(err => { if (err instanceof Unauthorized) askToken() }) })

// ---- filters ------------------------------------------------------------

function formToFilters () {
  const data = new FormData($('filters'))
  const q = new URLSearchParams()
  for (const k of FILTERS) {
    const v = String(data.get(k) ?? '').trim()
    if (v !== '') q.set(k, v)
  }
  // Enter in a field fires both change and submit: load once.
  const current = new URLSearchParams(location.search)
  current.delete('change')
  if (current.toString() === q.toString()) return
  history.replaceState(null, '', q.toString() === '' ? location.pathname : `?${q}`)
  void load()
}

function filtersToForm () {
  const f = filters()
  for (const k of FILTERS) $('filters').elements[k].value = f[k] ?? ''
  if (f.cluster) $('cluster-filter').hidden = false
}

$('filters').addEventListener('submit', ev => { ev.preventDefault(); formToFilters() })
$('filters').addEventListener('change', formToFilters)
$('filters').addEventListener('reset', () => { setTimeout(formToFilters, 0) })

// ---- detail -------------------------------------------------------------

function section (title, ...content) {
  return h('section', { 'aria-label': title }, h('h3', {}, title), ...content)
}

function table (head, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, head.map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map(x => h('td', {}, x)))))))
}

const show = v => v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v)

function detailBody (c) {
  const d = c.details ?? {}
  const out = []
  out.push(h('dl', { class: 'facts' },
    ...[
      ['Object', objectName(c.object)],
      ['Type', c.type],
      ['Outcome', h('span', { class: `badge outcome outcome-${c.outcome}` }, c.outcome)],
      ['By', c.actor?.username ?? 'controllers (no person)'],
      c.cluster ? ['Cluster', c.cluster] : undefined,
      ['Started', when(c.startedAt)],
      ['Ended', when(c.endedAt)],
      ['Took', relative(c.durationMs).slice(1)],
      d.revision !== undefined ? ['Revision', String(d.revision)] : undefined,
      d.reason ? ['Reason', d.reason + (d.message ? ` — ${d.message}` : '')] : undefined,
      ['Observations', Object.entries(c.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(', ') || '—']
    ].filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])))
  const svg = timelineSvg(c)
  if (svg) out.push(section('Timeline', h('div', { class: 'scroll' }, svg), legend()))
  if (d.images?.length) out.push(section('Images', table(['container', 'from', 'to'], d.images.map(i => [i.container, i.from ?? '—', i.to ?? '—']))))
  if (d.replicas) {
    const r = d.replicas
    const parts = [
      r.from !== undefined || r.to !== undefined ? `${r.from ?? '?'} → ${r.to ?? '?'}` : undefined,
      ...['desired', 'updated', 'ready', 'available'].filter(k => r[k] !== undefined).map(k => `${k} ${r[k]}`)
    ].filter(Boolean)
    out.push(section('Replicas', h('p', { class: 'replicas' }, parts.join(' · '))))
  }
  if (d.endpoints?.length) {
    out.push(section('Endpoints', h('ul', { class: 'endpoints' }, d.endpoints.map(e => h('li', {},
      h('strong', {}, e.service), ' ',
      e.added.map(a => h('span', { class: 'added' }, `+${a} `)),
      e.removed.map(a => h('span', { class: 'removed' }, `−${a} `)))))))
  }
  if (d.diff?.length) out.push(section('Changed fields', table(['field', 'from', 'to'], d.diff.map(x => [h('code', {}, x.path), show(x.from), show(x.to)]))))
  if (d.keys) {
    const k = d.keys
    out.push(section('Keys (values are never shown)', h('p', {},
      k.added.map(x => h('span', { class: 'added' }, `+${x} `)),
      k.removed.map(x => h('span', { class: 'removed' }, `−${x} `)),
      k.changed.map(x => h('span', { class: 'changed' }, `~${x} `)))))
  }
  if (d.superseded?.length) out.push(section('Superseded', h('ul', {}, d.superseded.map(s => h('li', {}, `revision ${s.revision ?? '?'}${s.actor ? ` by ${s.actor}` : ''}`)))))
  if (d.events?.length) out.push(section('Events', table(['reason', 'count', 'message'], d.events.map(e => [e.reason, String(e.count), e.message]))))
  const deliveries = c.deliveries ?? []
  out.push(section('Delivery', deliveries.length === 0
    ? h('p', {}, 'No sink routes this change.')
    : table(['sink', 'state', 'attempts', 'detail'], deliveries.map(x => [x.sink, h('span', { class: `state state-${x.state}` }, x.state), String(x.attempts),
      x.state === 'delivered' && x.deliveredAt ? `at ${new Date(x.deliveredAt).toISOString()}` : x.lastError ?? (x.nextAttemptAt ? `next try ${new Date(x.nextAttemptAt).toISOString()}` : '')]))))
  return out
}

async function openDetail (id, opener) {
  state.opener = opener ?? document.activeElement
  let res
  try {
    res = await api(`/changes/${encodeURIComponent(id)}`)
  } catch (err) {
    if (err instanceof Unauthorized) askToken()
    return
  }
  const c = res.ok ? await res.json() : undefined
  $('detail-title').textContent = c ? c.summary : `Change ${id}: ${await errorText(res)}`
  $('detail-body').replaceChildren(...(c ? detailBody(c) : []))
  $('detail').dataset.changeId = id
  const q = new URLSearchParams(location.search)
  q.set('change', id)
  history.replaceState(null, '', `?${q}`)
  if (!$('detail').open) $('detail').showModal()
  $('detail-close').focus()
}

$('detail-close').addEventListener('click', () => $('detail').close())
$('detail').addEventListener('close', () => {
  const q = new URLSearchParams(location.search)
  q.delete('change')
  history.replaceState(null, '', q.toString() === '' ? location.pathname : `?${q}`)
  state.opener?.focus?.()
})

filtersToForm()
void load()
