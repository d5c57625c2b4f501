import type { FastifyInstance } from 'fastify'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { errors } from '../../errors.js'

// GET / and GET /ui/*: the timeline page, plain files from src/http/ui read
// once at start (no build step, no CDN: it works air-gapped). The build
// (tsc) does not copy them, so from dist/http/routes the folder is found in
// the checkout's src/ (the image copies it there too).

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

const HEADERS = {
  // Everything comes from here; the page's data comes from /changes.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache'
}

export function uiFolder (): string {
  const candidates = ['../ui/', '../../../src/http/ui/'].map(rel => fileURLToPath(new URL(rel, import.meta.url)))
  const found = candidates.find(dir => existsSync(dir + 'index.html'))
  if (found === undefined) throw errors.BAD_CONFIG(`the timeline page's files are missing (looked in ${candidates.join(', ')})`)
  return found
}

export function uiRoutes (app: FastifyInstance, dir = uiFolder()): void {
  const files = new Map<string, { body: Buffer, type: string }>()
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'))
    if (TYPES[ext] !== undefined) files.set(name, { body: readFileSync(dir + name), type: TYPES[ext] })
  }
  const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)
    if (f === undefined) throw errors.NOT_FOUND(`no file /ui/${name.slice(0, 80)}`)
    return await reply.headers(HEADERS).type(f.type).send(f.body)
  }
  app.get('/', send('index.html'))
  app.get<{ Params: { file: string } }>('/ui/:file', async (req, reply) => await send(req.params.file)(req, reply))
}
