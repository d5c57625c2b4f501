#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { realpathSync } from 'node:fs'
import { loadConfig, type Flags } from './config.js'
import { isKubechangesError } from './errors.js'
import { runReplay } from './sources/replay.js'
import { runRedeliver } from './cli/redeliver.js'

// kubechanges serve | replay FILE | certs | tail. Exit codes: 0 ok, 1 runtime
// failure, 2 bad usage or configuration.

const USAGE = `usage:
  kubechanges serve [--host H] [--port P] [--store PATH] [--config FILE]
                    [--tls-cert FILE --tls-key FILE] [--client-ca FILE] [--api-token-file FILE]
                    [--audit-token-file FILE]
  kubechanges replay FILE [--json] [--config FILE]
  kubechanges certs --service NAME --namespace NS --out DIR [--dns NAME]... [--ip IP]... [--client]
  kubechanges redeliver CHANGE_ID [--sink NAME] [--url URL] [--token-file FILE]
  kubechanges tail [--url URL] [--token-file FILE] [--json]
                   [--namespace NS] [--kind K] [--type T] [--outcome O] [--user U] [--cluster C]

environment: KUBECHANGES_HOST, KUBECHANGES_PORT, KUBECHANGES_STORE, KUBECHANGES_CONFIG,
  KUBECHANGES_TLS_CERT, KUBECHANGES_TLS_KEY, KUBECHANGES_CLIENT_CA, KUBECHANGES_API_TOKEN,
  KUBECHANGES_API_TOKEN_FILE, KUBECHANGES_AUDIT_TOKEN, KUBECHANGES_AUDIT_TOKEN_FILE, KUBECHANGES_SMTP_URL, KUBECHANGES_MAIL_FROM,
  KUBECHANGES_MAIL_TO, KUBECHANGES_EXTERNAL_URL, KUBECHANGES_LOG_LEVEL, KUBECHANGES_CLUSTER, KUBECHANGES_URL (redeliver, tail)`

export interface Io {
  out: (line: string) => void
  err: (line: string) => void
  env: NodeJS.ProcessEnv
}

const defaultIo: Io = {
  out: line => { process.stdout.write(line + '\n') },
  err: line => { process.stderr.write(line + '\n') },
  env: process.env
}

async function serve (argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      store: { type: 'string' },
      config: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
      'api-token-file': { type: 'string' },
      'audit-token-file': { type: 'string' }
    },
    strict: true
  })
  const config = loadConfig(values as Flags, io.env)
  // Loaded lazily: replay and certs need neither fastify nor the watch.
  const { startServe } = await import('./serve.js')
  await startServe(config, io)
  return 0
}

export async function main (argv: string[], io: Io = defaultIo): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    switch (cmd) {
      case 'serve': return await serve(rest, io)
      case 'replay': return await runReplay(rest, io)
      // Imported here: node-forge is for `certs` alone, and serve need not hold it in memory.
      case 'certs': return await (await import('./tls/certs.js')).runCertsCommand(rest, io.out, io.err)
      case 'redeliver': return await runRedeliver(rest, io)
      case 'tail': return await (await import('./cli/tail.js')).runTail(rest, io)
      case '-h': case '--help': case 'help':
        io.out(USAGE)
        return 0
      default:
        io.err(cmd === undefined ? 'kubechanges: a command is required' : `kubechanges: unknown command ${JSON.stringify(cmd)}`)
        io.err(USAGE)
        return 2
    }
  } catch (e) {
    if (isKubechangesError(e)) {
      io.err(`kubechanges: ${e.code}: ${e.message}`)
      return e.code === 'KC_BAD_CONFIG' || e.code === 'KC_BAD_ARGUMENT' ? 2 : 1
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.err(`kubechanges: ${(e as Error).message}`)
      io.err(USAGE)
      return 2
    }
    io.err(`kubechanges: ${(e as Error).stack ?? String(e)}`)
    return 1
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href
if (invokedDirectly) {
  main(process.argv.slice(2)).then(code => {
    // serve keeps running on its own handles; the other commands end here.
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code
  }, e => {
    process.stderr.write(String(e) + '\n')
    process.exitCode = 1
  })
}
