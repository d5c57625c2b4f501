// A real SMTP server on loopback (smtp-server) that parses what it accepts
// (mailparser), for the e-mail delivery tests and the bench.

import { SMTPServer } from 'smtp-server'
import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server'
import { simpleParser } from 'mailparser'
import type { ParsedMail } from 'mailparser'
import type { AddressInfo } from 'node:net'

export type SmtpStage = 'rcpt' | 'data'

export interface ReceivedMail {
  parsed: ParsedMail
  envelope: { from: string; to: string[] }
  /** The raw message as received. */
  raw: string
}

export interface TestSmtpOptions {
  /** Require AUTH with these credentials (over plain text: test only). */
  auth?: { user: string; pass: string }
  /** Offer STARTTLS (smtp-server's built-in self-signed certificate). */
  starttls?: boolean
  /** Parse messages (default true; the bench turns it off). */
  parse?: boolean
}

export interface TestSmtp {
  port: number
  mails: ReceivedMail[]
  /** How many messages were refused so far. */
  refused: number
  /** Counts AUTH attempts that failed. */
  authFailures: number
  /** When set, called per RCPT TO / DATA; a returned number is the SMTP error code to answer with. */
  refuse?: (stage: SmtpStage) => number | undefined
  /** `smtp://[user:pass@]127.0.0.1:port` */
  url (credentials?: { user: string; pass: string }): string
  close (): Promise<void>
}

function smtpError (code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code })
}

export async function startSmtp (opts: TestSmtpOptions = {}): Promise<TestSmtp> {
  const parse = opts.parse ?? true
  const state: TestSmtp = {
    port: 0,
    mails: [],
    refused: 0,
    authFailures: 0,
    url (credentials) {
      const cred = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@` : ''
      return `smtp://${cred}127.0.0.1:${state.port}`
    },
    close: async () => {}
  }
  const server = new SMTPServer({
    logger: false,
    secure: false,
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    disabledCommands: opts.starttls ? [] : ['STARTTLS'],
    closeTimeout: 100,
    disableReverseLookup: true,
    size: 10 * 1024 * 1024,
    onAuth (auth: SMTPServerAuthentication, _session: SMTPServerSession, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) {
        cb(null, { user: auth.username })
        return
      }
      state.authFailures++
      cb(smtpError(535, 'Authentication failed'))
    },
    onRcptTo (_address, _session, cb) {
      const code = state.refuse?.('rcpt')
      if (code !== undefined) { state.refused++; cb(smtpError(code, 'Try again later')); return }
      cb()
    },
    onData (stream, session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const code = state.refuse?.('data')
        if (code !== undefined) { state.refused++; cb(smtpError(code, 'Try again later')); return }
        const raw = Buffer.concat(chunks)
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map(r => r.address)
        }
        if (!parse) {
          state.mails.push({ parsed: undefined as unknown as ParsedMail, envelope, raw: '' })
          cb()
          return
        }
        simpleParser(raw).then(parsed => {
          state.mails.push({ parsed, envelope, raw: raw.toString('utf8') })
          cb()
        }, err => cb(err as Error))
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  state.port = ((server.server.address()) as AddressInfo).port
  state.close = () => new Promise<void>(resolve => server.close(() => resolve()))
  return state
}

/** Message-IDs of the received mails (as the parser reports them, with angle brackets). */
export function messageIds (smtp: TestSmtp): string[] {
  return smtp.mails.map(m => m.parsed.messageId ?? '')
}
