import { createHash, timingSafeEqual } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'

// Who may call an endpoint: a bearer token and/or a verified client
// certificate. Tokens are compared as SHA-256 digests, so the comparison takes
// the same time whatever the guess, its length included.

export function bearer (req: FastifyRequest): string {
  const h = req.headers.authorization
  return typeof h === 'string' && /^bearer /i.test(h) ? h.slice(7).trim() : ''
}

export function tokenMatches (given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  // Both sides hashed: equal lengths always, and an empty guess never matches.
  return given !== '' && timingSafeEqual(digest(given), digest(expected))
}

/** A client certificate that chains to the configured client CA (the handshake asked for one). */
export function hasVerifiedClientCert (req: FastifyRequest): boolean {
  return (req.raw.socket as Partial<TLSSocket>).authorized === true
}
