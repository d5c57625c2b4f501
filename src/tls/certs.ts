// Self-signed PKI for the webhook endpoints: kube-apiserver only talks to
// webhooks over TLS and needs the issuing CA (the caBundle), so `certs`
// produces a private CA plus the serving (and optionally client) certificate.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import forge from 'node-forge'
import { errors } from '../errors.js'

export interface CertOptions {
  service: string
  namespace: string
  dns?: string[]
  ip?: string[]
  client?: boolean
  days?: number
  now?: Date
}

export interface CertBundle {
  caCert: string
  caKey: string
  serverCert: string
  serverKey: string
  clientCert?: string
  clientKey?: string
  /** base64 of caCert's PEM, as `caBundle` / `certificate-authority-data` expect */
  caBundle: string
}

export const CLIENT_COMMON_NAME = 'kube-apiserver-audit-webhook'
const DEFAULT_DAYS = 365
const CA_DAYS = 3650
const MAX_DAYS = 36500
const DAY_MS = 24 * 60 * 60 * 1000
// Nodes and the apiserver may run slightly behind the machine that signs.
const BACKDATE_MS = 5 * 60 * 1000

// Services and namespaces are RFC 1123 labels; anything else cannot be
// resolved as NAME.NS.svc, so a cert for it would never verify.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS_NAME = /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/

interface KeyPair { privatePem: string; forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey }

// node-forge's pure-JS RSA takes seconds per 2048-bit key; OpenSSL via
// node:crypto takes tens of milliseconds, and forge can still sign with it.
function newKeyPair (): KeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' }
  })
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey
  return { privatePem: privateKey, forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) }
}

// RFC 5280: positive, at most 20 octets, unpredictable. The first octet is
// kept in 0x01..0x7f so the DER INTEGER is exactly 16 bytes and positive.
function serialNumber (): string {
  const b = randomBytes(16)
  b[0] = (b[0] & 0x7f) || 0x01
  return b.toString('hex')
}

function validity (cert: forge.pki.Certificate, now: Date, days: number): void {
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS)
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS)
}

// forge writes CRLF; the rest of the tool chain (and the caBundle readers)
// expects the LF PEM that OpenSSL and node:crypto write.
function toPem (cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n')
}

function keyIdentifier (cert: forge.pki.Certificate): string {
  return cert.generateSubjectKeyIdentifier().getBytes()
}

function validateOptions (opts: CertOptions): { dns: string[]; ip: string[]; days: number; now: Date } {
  if (typeof opts.service !== 'string' || !DNS_LABEL.test(opts.service)) {
    throw errors.BAD_ARGUMENT(`service must be a DNS label (lowercase letters, digits, '-', at most 63 characters), got ${JSON.stringify(opts.service)}`)
  }
  if (typeof opts.namespace !== 'string' || !DNS_LABEL.test(opts.namespace)) {
    throw errors.BAD_ARGUMENT(`namespace must be a DNS label (lowercase letters, digits, '-', at most 63 characters), got ${JSON.stringify(opts.namespace)}`)
  }
  const dns = opts.dns ?? []
  for (const d of dns) {
    if (d.length > 253 || !DNS_NAME.test(d)) throw errors.BAD_ARGUMENT(`invalid DNS name ${JSON.stringify(d)}`)
  }
  const ip = opts.ip ?? []
  for (const a of ip) {
    if (isIP(a) === 0) throw errors.BAD_ARGUMENT(`invalid IP address ${JSON.stringify(a)}`)
  }
  const days = opts.days ?? DEFAULT_DAYS
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw errors.BAD_ARGUMENT(`days must be an integer between 1 and ${MAX_DAYS}, got ${String(days)}`)
  }
  const now = opts.now ?? new Date()
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw errors.BAD_ARGUMENT('now must be a valid Date')
  return { dns, ip, days, now }
}

/** The DNS names a Service is reachable by from inside the cluster. */
export function serviceDnsNames (service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`
  ]
}

function leaf (
  ca: { cert: forge.pki.Certificate; key: KeyPair },
  subjectCN: string,
  extKeyUsage: { serverAuth?: boolean; clientAuth?: boolean },
  altNames: Array<{ type: number; value?: string; ip?: string }> | undefined,
  now: Date,
  days: number
): { cert: string; key: string } {
  const key = newKeyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = key.publicKey
  cert.serialNumber = serialNumber()
  validity(cert, now, days)
  cert.setSubject([{ name: 'commonName', value: subjectCN }, { name: 'organizationName', value: 'kubechanges' }])
  cert.setIssuer(ca.cert.subject.attributes)
  const extensions: any[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...extKeyUsage },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifier(ca.cert) }
  ]
  if (altNames !== undefined) extensions.push({ name: 'subjectAltName', altNames })
  cert.setExtensions(extensions)
  cert.sign(ca.key.forgeKey, forge.md.sha256.create())
  return { cert: toPem(cert), key: key.privatePem }
}

export function generateCertificates (opts: CertOptions): CertBundle {
  const { dns, ip, days, now } = validateOptions(opts)
  const { service, namespace } = opts

  const caKey = newKeyPair()
  const caCert = forge.pki.createCertificate()
  caCert.publicKey = caKey.publicKey
  caCert.serialNumber = serialNumber()
  // The CA must outlive every certificate it signs, or they stop verifying early.
  validity(caCert, now, Math.max(CA_DAYS, days))
  // A timestamped CN, as kubeadm does, so CAs from different runs are told apart.
  const caSubject = [
    { name: 'commonName', value: `kubechanges-ca@${Math.floor(now.getTime() / 1000)}` },
    { name: 'organizationName', value: 'kubechanges' }
  ]
  caCert.setSubject(caSubject)
  caCert.setIssuer(caSubject)
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' }
  ])
  caCert.sign(caKey.forgeKey, forge.md.sha256.create())
  const ca = { cert: caCert, key: caKey }

  const names = [...new Set([...serviceDnsNames(service, namespace), ...dns])]
  const ips = [...new Set(ip)]
  const server = leaf(ca, `${service}.${namespace}.svc`, { serverAuth: true }, [
    ...names.map(value => ({ type: 2, value })),
    ...ips.map(a => ({ type: 7, ip: a }))
  ], now, days)

  const caPem = toPem(caCert)
  const bundle: CertBundle = {
    caCert: caPem,
    caKey: caKey.privatePem,
    serverCert: server.cert,
    serverKey: server.key,
    caBundle: Buffer.from(caPem, 'utf8').toString('base64')
  }
  if (opts.client === true) {
    const client = leaf(ca, CLIENT_COMMON_NAME, { clientAuth: true }, undefined, now, days)
    bundle.clientCert = client.cert
    bundle.clientKey = client.key
  }
  return bundle
}

// Write-then-rename: a reader (watchTls, a running server) never sees a
// half-written file, and a key is never readable by others even for an
// instant, also when it replaces an older file with looser permissions.
async function writeAtomic (path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data, 'utf8')
    // open()'s mode is filtered by the umask; be explicit.
    await fh.chmod(mode)
    await fh.sync()
  } catch (e) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw e
  }
  await fh.close()
  try {
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

export async function writeCertificates (dir: string, bundle: CertBundle): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const files: Array<[string, string | undefined, number]> = [
    ['ca.crt', bundle.caCert, 0o644],
    ['ca.key', bundle.caKey, 0o600],
    ['tls.crt', bundle.serverCert, 0o644],
    ['tls.key', bundle.serverKey, 0o600],
    ['client.crt', bundle.clientCert, 0o644],
    ['client.key', bundle.clientKey, 0o600]
  ]
  const written: string[] = []
  for (const [name, data, mode] of files) {
    if (data === undefined) continue
    const path = join(dir, name)
    await writeAtomic(path, data, mode)
    written.push(path)
  }
  return written
}

export const CERTS_USAGE = `Usage: kubechanges certs --service NAME --namespace NS --out DIR [options]

Creates a private CA and a serving certificate for the Service NAME in NS
(SANs NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local) and prints the
caBundle for the webhook configurations.

Options:
  --service NAME    Service name (required)
  --namespace NS    namespace of the Service (required)
  --out DIR         directory to write ca.crt, ca.key, tls.crt, tls.key (required)
  --dns NAME        extra DNS SAN (repeatable)
  --ip ADDR         extra IP SAN (repeatable)
  --client          also write client.crt/client.key for kube-apiserver (mTLS)
  --days N          validity of the serving/client certificates (default ${DEFAULT_DAYS}; CA ${CA_DAYS})
  -h, --help        show this help`

/**
 * `kubechanges certs ...`; argv holds the arguments after `certs`.
 * Returns the exit code: 0 done, 1 could not write, 2 bad usage.
 */
export async function runCertsCommand (
  argv: string[],
  out: (line: string) => void,
  err: (line: string) => void
): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        service: { type: 'string' },
        namespace: { type: 'string' },
        out: { type: 'string' },
        dns: { type: 'string', multiple: true },
        ip: { type: 'string', multiple: true },
        client: { type: 'boolean' },
        days: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (e) {
    err(`kubechanges certs: ${(e as Error).message}`)
    err(CERTS_USAGE)
    return 2
  }
  if (values.help === true) {
    out(CERTS_USAGE)
    return 0
  }
  const missing = (['service', 'namespace', 'out'] as const).filter(k => values[k] === undefined || values[k] === '')
  if (missing.length > 0) {
    err(`kubechanges certs: missing required option${missing.length > 1 ? 's' : ''} ${missing.map(k => `--${k}`).join(', ')}`)
    err(CERTS_USAGE)
    return 2
  }
  let days: number | undefined
  if (values.days !== undefined) {
    // Number('') is 0 and Number('1e2') is 100: accept plain digits only.
    if (!/^\d+$/.test(values.days)) {
      err(`kubechanges certs: --days must be a positive integer, got ${JSON.stringify(values.days)}`)
      return 2
    }
    days = Number(values.days)
  }

  const outDir = values.out as string
  const opts: CertOptions = {
    service: values.service as string,
    namespace: values.namespace as string,
    dns: values.dns,
    ip: values.ip,
    client: values.client === true,
    days
  }
  try {
    validateOptions(opts)
  } catch (e) {
    err(`kubechanges certs: ${(e as Error).message}`)
    return 2
  }
  // Fail on an unusable --out before spending seconds on key generation.
  try {
    await mkdir(outDir, { recursive: true })
  } catch (e) {
    err(`kubechanges certs: cannot write to ${outDir}: ${(e as Error).message}`)
    return 1
  }
  const bundle = generateCertificates(opts)

  let written: string[]
  try {
    written = await writeCertificates(outDir, bundle)
  } catch (e) {
    err(`kubechanges certs: cannot write to ${outDir}: ${(e as Error).message}`)
    return 1
  }
  for (const path of written) {
    out(`wrote ${path}${path.endsWith('.key') ? ' (mode 0600, keep it secret)' : ''}`)
  }
  out(`caBundle: ${bundle.caBundle}`)
  return 0
}
