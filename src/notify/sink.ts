// A sink delivers one Change somewhere (an inbox, a chat, stdout). Sinks are
// stateless about "was this sent already": the outbox and the dispatcher own
// exactly-once; a sink only tries once and throws errors.DELIVERY_FAILED.

import type { Change } from '../model.js'
import type { Digest } from './digest.js'

export type SinkType = 'email' | 'webhook' | 'teams' | 'cloudevents' | 'log'
export const SINK_TYPES: readonly SinkType[] = ['email', 'webhook', 'teams', 'cloudevents', 'log']

export interface DeliverOptions {
  /** Recipients overriding the sink's own (e-mail sinks only; others ignore it). */
  to?: string[]
}

export interface Sink {
  readonly name: string
  readonly type: SinkType
  /** One attempt. Resolves when the receiver accepted the change; rejects with errors.DELIVERY_FAILED. */
  deliver (change: Change, opts?: DeliverOptions): Promise<void>
  /** One attempt at a digest: one message listing all its changes. */
  deliverDigest (digest: Digest, opts?: DeliverOptions): Promise<void>
  /** Releases connections (SMTP pool). Idempotent. */
  close (): Promise<void>
}

