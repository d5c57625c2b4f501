// Checks manifests/: every YAML file parses (and means the same to YAML 1.1
// readers such as kubectl as to YAML 1.2 ones), every Kubernetes resource
// validates against its OpenAPI schema (kubernetes-models), and the files
// agree with each other and with the code (watched kinds, routes, port).
//
// Schema coverage: kubernetes-models covers the cluster resources only. The
// audit Policy (audit.k8s.io/v1), the webhook kubeconfig (clientcmd v1
// Config) and the Kustomization are not in it; they get a small structural
// check here (known keys, types, enums). Note also that kubernetes-models'
// schemas accept unknown fields (no additionalProperties: false), so a
// misspelt optional field would pass the schema: the fields that matter are
// therefore asserted by value below.

import t from 'tap'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { parse, parseAllDocuments } from 'yaml'
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole'
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { loadConfig, type Flags } from '../../src/config.js'
import { ENV_MAIL_FROM, ENV_MAIL_TO, ENV_SMTP_URL, parseNotifyConfig } from '../../src/notify/config.js'
import { DEFAULT_WATCHED_KINDS } from '../../src/sources/watch-kinds.js'
import pino from 'pino'
import { createApp } from '../../src/app.js'
import { createMetrics } from '../../src/metrics.js'
import { generateCertificates, writeCertificates } from '../../src/tls/certs.js'
import { httpsRequest } from '../helpers/https.js'

// Manifests are untyped JSON; the checks below assert every value they use.
type J = any

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MANIFESTS = join(ROOT, 'manifests')

// The one placeholder for a base64 CA bundle (caBundle, certificate-authority-data).
const CA_PLACEHOLDER = '${CA_BUNDLE}'
// A syntactically valid stand-in for it, for schema validation (format: byte).
const CA_SAMPLE = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64')

const NAMESPACE = 'kubechanges'
const SERVICE = 'kubechanges'
const ADMISSION_PATH = '/admission'
const AUDIT_PATH = '/audit'
const CONTAINER_PORT = 8443
const UID = 10001
// Files for the apiserver's host and templates: never kustomize resources.
const NOT_RESOURCES = ['audit-policy.yaml', 'audit-webhook-kubeconfig.yaml', 'secret-smtp.example.yaml', 'kustomization.yaml', 'networkpolicy.yaml']
const TOKEN_PLACEHOLDER = '${AUDIT_TOKEN}'
const CIDR_PLACEHOLDER = '${CONTROL_PLANE_CIDR}'

// ---------------------------------------------------------------- loading

function yamlFiles (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...yamlFiles(p))
    else if (/\.ya?ml$/.test(e.name)) out.push(p)
  }
  return out.sort()
}

interface Loaded { file: string, docs: J[] }

const files = yamlFiles(MANIFESTS)
const loaded: Loaded[] = []
const parseProblems: string[] = []
for (const path of files) {
  const file = relative(MANIFESTS, path).split(/[\\/]/).join(posix.sep)
  const src = readFileSync(path, 'utf8')
  const docs12 = parseAllDocuments(src, { prettyErrors: true })
  const docs11 = parseAllDocuments(src, { version: '1.1' })
  if (!Array.isArray(docs12) || !Array.isArray(docs11)) {
    parseProblems.push(`${file}: no YAML documents`)
    continue
  }
  for (const d of docs12) {
    for (const e of d.errors) parseProblems.push(`${file}: ${e.message}`)
    for (const w of d.warnings) parseProblems.push(`${file}: warning: ${w.message}`)
  }
  const js = docs12.map(d => d.toJS()).filter(d => d !== null && d !== undefined)
  const js11 = docs11.map(d => d.toJS()).filter(d => d !== null && d !== undefined)
  // kubectl and kube-apiserver read YAML 1.1 (0440 is octal, yes/on are booleans there).
  if (!isDeepStrictEqual(js, js11)) parseProblems.push(`${file}: reads differently as YAML 1.1 (kubectl) and YAML 1.2`)
  if (js.length === 0) parseProblems.push(`${file}: empty`)
  loaded.push({ file, docs: js })
}

function docsOf (file: string): J[] {
  const l = loaded.find(x => x.file === file)
  if (l === undefined) throw new Error(`manifests/${file} missing`)
  return l.docs
}

function one (file: string, kind: string): J {
  const found = docsOf(file).filter(d => d?.kind === kind)
  if (found.length !== 1) throw new Error(`manifests/${file}: expected one ${kind}, found ${found.length}`)
  return found[0]
}

const allResources = (): J[] => loaded.flatMap(l => l.docs)

// --------------------------------------------------------------- schemas

interface Validatable { validate: () => void }
type ModelCtor = new (data: never) => Validatable

const MODELS: Record<string, ModelCtor> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy
}

function replaceDeep (v: J, from: string, to: string): J {
  if (typeof v === 'string') return v.split(from).join(to)
  if (Array.isArray(v)) return v.map(x => replaceDeep(x, from, to))
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceDeep(x, from, to)]))
  return v
}

function schemaErrors (doc: J): string | undefined {
  const Model = MODELS[`${String(doc.apiVersion)}/${String(doc.kind)}`]
  if (Model === undefined) return `no schema for ${String(doc.apiVersion)} ${String(doc.kind)}`
  try {
    // What is applied is the manifest after the documented envsubst step.
    new Model(replaceDeep(replaceDeep(doc, CA_PLACEHOLDER, CA_SAMPLE), CIDR_PLACEHOLDER, '10.0.0.0/24') as never).validate()
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}

// Minimal structural schema for the files kubernetes-models does not cover.
interface Shape { [key: string]: 'string' | 'boolean' | 'number' | 'string[]' | readonly string[] | Shape | [Shape] }

function checkShape (v: J, shape: Shape, path: string, out: string[]): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) { out.push(`${path}: must be a mapping`); return }
  for (const [k, x] of Object.entries(v)) {
    const s = shape[k]
    const p = `${path}.${k}`
    if (s === undefined) out.push(`${p}: unknown field`)
    else if (s === 'string' || s === 'boolean' || s === 'number') { if (typeof x !== s) out.push(`${p}: must be a ${s}`) } else if (s === 'string[]') {
      if (!Array.isArray(x) || x.some(y => typeof y !== 'string')) out.push(`${p}: must be a list of strings`)
    } else if (Array.isArray(s)) {
      const item: string | Shape | undefined = s[0]
      if (typeof item === 'string') {
        // an enum: one value, or a list of them
        const allowed = s as unknown as readonly string[]
        const xs = Array.isArray(x) ? x : [x]
        for (const y of xs) if (!allowed.includes(y)) out.push(`${p}: ${JSON.stringify(y)} not one of ${allowed.join(', ')}`)
      } else if (!Array.isArray(x)) out.push(`${p}: must be a list`)
      else x.forEach((y, i) => checkShape(y, item ?? {}, `${p}[${i}]`, out))
    } else checkShape(x, s as Shape, p, out)
  }
}

const AUDIT_LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'] as const
const AUDIT_STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const
const AUDIT_POLICY_SHAPE: Shape = {
  apiVersion: ['audit.k8s.io/v1'],
  kind: ['Policy'],
  metadata: { name: 'string' },
  omitStages: AUDIT_STAGES,
  omitManagedFields: 'boolean',
  rules: [{
    level: AUDIT_LEVELS,
    users: 'string[]',
    userGroups: 'string[]',
    verbs: 'string[]',
    resources: [{ group: 'string', resources: 'string[]', resourceNames: 'string[]' }],
    namespaces: 'string[]',
    nonResourceURLs: 'string[]',
    omitStages: AUDIT_STAGES,
    omitManagedFields: 'boolean'
  }]
}
const KUBECONFIG_SHAPE: Shape = {
  apiVersion: ['v1'],
  kind: ['Config'],
  preferences: {},
  'current-context': 'string',
  clusters: [{
    name: 'string',
    cluster: {
      server: 'string',
      'tls-server-name': 'string',
      'certificate-authority': 'string',
      'certificate-authority-data': 'string',
      'insecure-skip-tls-verify': 'boolean',
      'proxy-url': 'string',
      'disable-compression': 'boolean'
    }
  }],
  users: [{
    name: 'string',
    user: {
      'client-certificate': 'string',
      'client-certificate-data': 'string',
      'client-key': 'string',
      'client-key-data': 'string',
      token: 'string',
      tokenFile: 'string'
    }
  }],
  contexts: [{ name: 'string', context: { cluster: 'string', user: 'string', namespace: 'string' } }]
}
const KUSTOMIZATION_SHAPE: Shape = {
  apiVersion: ['kustomize.config.k8s.io/v1beta1'],
  kind: ['Kustomization'],
  namespace: 'string',
  resources: 'string[]',
  images: [{ name: 'string', newName: 'string', newTag: 'string', digest: 'string' }]
}
const STRUCTURAL: Record<string, Shape> = {
  'audit.k8s.io/v1/Policy': AUDIT_POLICY_SHAPE,
  'v1/Config': KUBECONFIG_SHAPE,
  'kustomize.config.k8s.io/v1beta1/Kustomization': KUSTOMIZATION_SHAPE
}

// ---------------------------------------------------------- audit policy

// kube-apiserver's policy evaluation (k8s.io/apiserver/pkg/audit/policy/checker.go):
// the first matching rule decides; no match means None.
interface AuditRequest {
  verb: string
  group?: string
  resource?: string // undefined: a non-resource request (path)
  subresource?: string
  namespace?: string
  name?: string
  user?: string
  groups?: string[]
  path?: string
}

function ruleMatches (r: J, q: AuditRequest): boolean {
  const has = (xs: J, x: J): boolean => Array.isArray(xs) && xs.includes(x)
  const nonEmpty = (xs: J): boolean => Array.isArray(xs) && xs.length > 0
  if (nonEmpty(r.users) && !has(r.users, q.user)) return false
  if (nonEmpty(r.userGroups) && !(q.groups ?? []).some(g => has(r.userGroups, g))) return false
  if (nonEmpty(r.verbs) && !has(r.verbs, q.verb)) return false
  if (nonEmpty(r.namespaces) || nonEmpty(r.resources)) {
    if (q.resource === undefined) return false
    if (nonEmpty(r.namespaces) && !has(r.namespaces, q.namespace ?? '')) return false
    if (!nonEmpty(r.resources)) return true
    const combined = q.subresource !== undefined ? `${q.resource}/${q.subresource}` : q.resource
    for (const gr of r.resources) {
      if ((gr.group ?? '') !== (q.group ?? '')) continue
      if (!nonEmpty(gr.resources)) return true
      for (const res of gr.resources as string[]) {
        if (nonEmpty(gr.resourceNames) && !has(gr.resourceNames, q.name)) continue
        if (res === combined || res === '*') return true
        if (q.subresource !== undefined && res === `*/${q.subresource}`) return true
        if (res.endsWith('/*') && res.slice(0, -2) === q.resource) return true
      }
    }
    return false
  }
  if (nonEmpty(r.nonResourceURLs)) {
    if (q.resource !== undefined) return false
    return (r.nonResourceURLs as string[]).some(s => s === '*' || s === q.path || (s.endsWith('*') && (q.path ?? '').startsWith(s.replace(/\*+$/, ''))))
  }
  return true
}

function auditLevel (policy: J, q: AuditRequest): string {
  for (const r of policy.rules) if (ruleMatches(r, q)) return r.level
  return 'None'
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection']

// ------------------------------------------------------------------ tests

t.test('every file under manifests/ is valid YAML', async t => {
  t.ok(files.length >= 12, `found ${files.length} YAML files`)
  t.same(parseProblems, [], 'no parse errors, warnings or YAML 1.1/1.2 differences')
  const bad = parseAllDocuments('a: 1\na: 2\n')
  t.ok(!Array.isArray(bad) || bad.some(d => d.errors.length > 0), 'self-check: the parser reports errors (duplicate keys)')
})

t.test('every Kubernetes resource validates against its schema', async t => {
  let validated = 0
  let structural = 0
  for (const { file, docs } of loaded) {
    for (const [i, doc] of docs.entries()) {
      const where = `${file}#${i} ${String(doc?.kind)}`
      t.type(doc?.apiVersion, 'string', `${where}: apiVersion`)
      t.type(doc?.kind, 'string', `${where}: kind`)
      const key = `${String(doc.apiVersion)}/${String(doc.kind)}`
      const shape = STRUCTURAL[key]
      if (shape !== undefined) {
        const out: string[] = []
        checkShape(doc, shape, file, out)
        t.same(out, [], `${where}: structure (not covered by kubernetes-models)`)
        structural++
      } else {
        t.equal(schemaErrors(doc), undefined, `${where}: schema`)
        t.type(doc.metadata?.name, 'string', `${where}: metadata.name`)
        validated++
      }
    }
  }
  t.ok(validated >= 10, `${validated} resources validated by schema`)
  t.equal(structural, 3, 'audit policy, kubeconfig and kustomization checked structurally')

  // The validation is not a no-op: broken copies of real manifests fail.
  const dep = structuredClone(one('deployment.yaml', 'Deployment'))
  dep.spec.replicas = 'one'
  t.match(schemaErrors(dep), /replicas must be integer/, 'self-check: a bad Deployment is rejected')
  const whc = structuredClone(one('validatingwebhookconfiguration.yaml', 'ValidatingWebhookConfiguration'))
  whc.webhooks[0].clientConfig.caBundle = 'not base64!'
  t.match(schemaErrors(whc), /caBundle must match format "byte"/, 'self-check: a bad caBundle is rejected')
  t.match(schemaErrors({ apiVersion: 'apps/v1beta1', kind: 'Deployment' }), /no schema/, 'self-check: unknown apiVersion is rejected')
  const out: string[] = []
  checkShape({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Everything', verb: ['get'] }] }, AUDIT_POLICY_SHAPE, 'x', out)
  t.same(out, ['x.rules[0].level: "Everything" not one of None, Metadata, Request, RequestResponse', 'x.rules[0].verb: unknown field'], 'self-check: the structural check rejects a bad policy')
})

t.test('namespaced resources are in the kubechanges namespace', async t => {
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'Policy', 'Config', 'Kustomization'])
  for (const doc of allResources()) {
    if (clusterScoped.has(doc.kind)) t.equal(doc.metadata?.namespace, undefined, `${String(doc.kind)} has no namespace`)
    else t.equal(doc.metadata?.namespace, NAMESPACE, `${String(doc.kind)}/${String(doc.metadata?.name)} namespace`)
  }
  t.equal(one('namespace.yaml', 'Namespace').metadata.name, NAMESPACE)
})

t.test('kustomization lists exactly the cluster resources', async t => {
  const k = one('kustomization.yaml', 'Kustomization')
  t.equal(k.apiVersion, 'kustomize.config.k8s.io/v1beta1')
  t.equal(k.namespace, NAMESPACE)
  const listed: string[] = k.resources
  t.equal(new Set(listed).size, listed.length, 'no duplicates')
  for (const r of listed) t.ok(existsSync(join(MANIFESTS, r)), `${r} exists`)
  for (const r of NOT_RESOURCES) t.notOk(listed.includes(r), `${r} is not a kustomize resource`)
  const expected = loaded.map(l => l.file).filter(f => !NOT_RESOURCES.includes(f)).sort()
  t.same([...listed].sort(), expected, 'every other manifest is listed')
  t.ok(expected.length >= 8, 'namespace, serviceaccount, rbac, deployment, service, webhook, pvc, configmap')
})

t.test('admission webhook points at the Service and /admission', async t => {
  const whc = one('validatingwebhookconfiguration.yaml', 'ValidatingWebhookConfiguration')
  const svc = one('service.yaml', 'Service')
  t.equal(whc.apiVersion, 'admissionregistration.k8s.io/v1')
  t.equal(whc.webhooks.length, 1)
  const w = whc.webhooks[0]
  t.equal(w.clientConfig.service.name, svc.metadata.name, 'service name')
  t.equal(w.clientConfig.service.name, SERVICE)
  t.equal(w.clientConfig.service.namespace, svc.metadata.namespace, 'service namespace')
  t.equal(w.clientConfig.service.namespace, NAMESPACE)
  t.equal(w.clientConfig.service.path, ADMISSION_PATH, 'route')
  t.equal(w.clientConfig.service.port, 443)
  t.ok(svc.spec.ports.some((p: J) => p.port === w.clientConfig.service.port), 'the Service exposes the webhook port')
  t.equal(w.clientConfig.url, undefined, 'service reference, not url')
  t.equal(w.clientConfig.caBundle, CA_PLACEHOLDER, 'caBundle placeholder')
  t.equal(w.failurePolicy, 'Ignore')
  t.equal(w.sideEffects, 'None')
  t.equal(w.timeoutSeconds, 2)
  t.same(w.admissionReviewVersions, ['v1'])
  t.same(w.namespaceSelector, {
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] }]
  })

  // Covers create/update/delete of the watched workloads, services and configmaps, nothing else.
  const covered = new Map<string, Set<string>>()
  for (const r of w.rules) {
    t.notOk(r.apiGroups.includes('*') || r.apiVersions.includes('*') || r.resources.includes('*') || r.operations.includes('*'), 'no wildcards')
    for (const g of r.apiGroups) {
      for (const v of r.apiVersions) {
        for (const res of r.resources) {
          const key = `${String(g)}/${String(v)}/${String(res)}`
          covered.set(key, new Set([...(covered.get(key) ?? []), ...r.operations]))
        }
      }
    }
  }
  const workloads = DEFAULT_WATCHED_KINDS.filter(k => ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'].includes(k.kind))
  t.equal(workloads.length, 5, 'the workload kinds are watched')
  const expected = [
    ...workloads.map(k => `${k.group}/${k.version}/${k.resource}`),
    '/v1/services',
    '/v1/configmaps'
  ]
  t.same([...covered.keys()].sort(), expected.sort(), 'resources')
  for (const [key, ops] of covered) t.same([...ops].sort(), ['CREATE', 'DELETE', 'UPDATE'], `${key} operations`)
})

t.test('Service, container port and probes agree', async t => {
  const svc = one('service.yaml', 'Service')
  const dep = one('deployment.yaml', 'Deployment')
  const pod = dep.spec.template.spec
  t.equal(pod.containers.length, 1)
  const c = pod.containers[0]
  t.equal(svc.metadata.name, SERVICE)
  t.equal(svc.spec.type, 'ClusterIP')
  t.same(c.ports.map((p: J) => p.containerPort), [CONTAINER_PORT], 'container port')
  const portByName = new Map<string, number>(c.ports.map((p: J) => [p.name, p.containerPort]))
  const resolve = (p: J): number | undefined => typeof p === 'number' ? p : portByName.get(p)

  const https = svc.spec.ports.find((p: J) => p.port === 443)
  t.ok(https, 'port 443')
  t.equal(resolve(https?.targetPort), CONTAINER_PORT, '443 -> 8443')
  for (const p of svc.spec.ports) t.equal(resolve(p.targetPort), CONTAINER_PORT, `service port ${String(p.port)} targets the container port`)

  // The Service actually selects the pod.
  const labels = dep.spec.template.metadata.labels
  t.ok(Object.keys(svc.spec.selector).length > 0, 'service has a selector')
  for (const [k, v] of Object.entries(svc.spec.selector)) t.equal(labels[k], v, `pod has service selector label ${k}`)
  for (const [k, v] of Object.entries(dep.spec.selector.matchLabels)) t.equal(labels[k], v, `pod has deployment selector label ${k}`)

  for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
    const h = c[probe]?.httpGet
    t.ok(h, `${probe} is an httpGet probe`)
    t.equal(h?.path, path, `${probe} path`)
    t.equal(h?.scheme, 'HTTPS', `${probe} scheme`)
    t.equal(resolve(h?.port), CONTAINER_PORT, `${probe} port`)
  }

  const args: string[] = c.args
  const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
  t.equal(flag('--port'), String(CONTAINER_PORT), '--port is the container port')
})

t.test('Deployment: args, mounts, volumes, env', async t => {
  const dep = one('deployment.yaml', 'Deployment')
  const pvc = one('pvc.yaml', 'PersistentVolumeClaim')
  const cm = one('configmap.yaml', 'ConfigMap')
  const sa = one('serviceaccount.yaml', 'ServiceAccount')
  const pod = dep.spec.template.spec
  const c = pod.containers[0]
  t.equal(dep.spec.replicas, 1)
  t.same(dep.spec.strategy, { type: 'Recreate' })
  t.equal(pod.serviceAccountName, sa.metadata.name)
  t.equal(pod.enableServiceLinks, false, 'no KUBECHANGES_PORT=tcp://... from the Service named kubechanges')

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  t.equal(c.image, `kubechanges:${String(pkg.version)}`, 'image kubechanges:<package version>')
  t.same(c.args, [
    'serve',
    '--host', '0.0.0.0',
    '--port', String(CONTAINER_PORT),
    '--tls-cert', '/etc/kubechanges/tls/tls.crt',
    '--tls-key', '/etc/kubechanges/tls/tls.key',
    '--store', '/var/lib/kubechanges/changes.db',
    '--config', '/etc/kubechanges/config.yaml',
    '--client-ca', '/etc/kubechanges/tls/ca.crt',
    '--audit-token-file', '/etc/kubechanges/audit-token/token'
  ])
  t.equal(c.command, undefined, 'the image ENTRYPOINT runs node dist/cli.js')
  const flag = (name: string): string => { const i = c.args.indexOf(name); return i >= 0 ? c.args[i + 1] : '' }

  const volumes = new Map<string, J>(pod.volumes.map((v: J) => [v.name, v]))
  t.equal(volumes.size, pod.volumes.length, 'volume names are unique')
  const mounts: J[] = c.volumeMounts
  for (const m of mounts) t.ok(volumes.has(m.name), `mount ${String(m.mountPath)} has a volume`)
  // The mount whose path holds the file (the longest prefix wins, as in the container).
  const mountFor = (file: string): J => mounts
    .filter(m => file === m.mountPath || file.startsWith(`${String(m.mountPath)}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0]

  for (const [f, key] of [['--tls-cert', 'tls.crt'], ['--tls-key', 'tls.key']] as const) {
    const path = flag(f)
    const m = mountFor(path)
    t.ok(m, `${f} ${path} is on a mount`)
    const v = volumes.get(m?.name)
    t.equal(v?.secret?.secretName, 'kubechanges-tls', `${f} comes from the kubechanges-tls Secret`)
    t.equal(posix.relative(m?.mountPath ?? '', path), key, `${f} is the Secret's ${key} key (kubernetes.io/tls)`)
    t.equal(m?.readOnly, true, `${f} mount is read-only`)
  }
  t.equal(volumes.get('tls')?.secret?.defaultMode, 0o440, 'key readable by the fsGroup only')
  // /audit is authenticated by default: the client CA and the token come from Secrets that must exist.
  for (const [f, secret, key] of [['--client-ca', 'kubechanges-tls', 'ca.crt'], ['--audit-token-file', 'kubechanges-audit-token', 'token']] as const) {
    const path = flag(f)
    const m = mountFor(path)
    t.ok(m, `${f} ${path} is on a mount`)
    const v = volumes.get(m?.name)
    t.equal(v?.secret?.secretName, secret, `${f} comes from the ${secret} Secret`)
    t.equal(v?.secret?.optional ?? false, false, `${f}: the pod does not start without it (no open /audit)`)
    t.equal(posix.relative(m?.mountPath ?? '', path), key, `${f} is the Secret's ${key} key`)
    t.equal(m?.readOnly, true, `${f} mount is read-only`)
    t.equal(v?.secret?.defaultMode, 0o440, `${f}: readable by the fsGroup only`)
  }

  const cfgPath = flag('--config')
  const cfgMount = mountFor(cfgPath)
  t.equal(cfgMount?.mountPath, cfgPath, '--config is the mounted file')
  t.equal(cfgMount?.subPath, 'config.yaml')
  t.equal(volumes.get(cfgMount?.name)?.configMap?.name, cm.metadata.name, 'config from the ConfigMap')
  t.type(cm.data?.[cfgMount?.subPath], 'string', 'the ConfigMap has the mounted key')

  const storePath = flag('--store')
  const dataMount = mountFor(storePath)
  t.equal(dataMount?.mountPath, '/var/lib/kubechanges')
  t.equal(posix.dirname(storePath), dataMount?.mountPath, 'the store is on the data volume')
  t.equal(dataMount?.readOnly ?? false, false, 'data mount is writable')
  t.equal(volumes.get(dataMount?.name)?.persistentVolumeClaim?.claimName, pvc.metadata.name, 'data from the PVC')
  t.equal(pvc.metadata.name, 'kubechanges-data')
  t.same(pvc.spec.accessModes, ['ReadWriteOnce'])
  t.match(pvc.spec.resources?.requests?.storage, /^\d+[GM]i$/)

  const tmp = mounts.find(m => m.mountPath === '/tmp')
  t.ok(volumes.get(tmp?.name)?.emptyDir, '/tmp is an emptyDir (read-only root filesystem)')

  t.same(c.envFrom, [{ secretRef: { name: 'kubechanges-smtp', optional: true } }], 'optional SMTP settings')
  const nodeOptions = (c.env ?? []).find((e: J) => e.name === 'NODE_OPTIONS')
  t.equal(nodeOptions?.value, '--max-old-space-size=192 --max-semi-space-size=2', 'the V8 heap stays inside the 320Mi limit (sized in the README)')
  t.equal(c.resources?.limits?.memory, '320Mi')
  for (const e of (c.env ?? []).filter((e: J) => e.name !== 'NODE_OPTIONS')) {
    t.equal(e.value, undefined, `${String(e.name)} is not a literal in the manifest`)
    t.equal(e.valueFrom?.secretKeyRef?.optional, true, `${String(e.name)} is optional`)
  }

  for (const k of ['requests', 'limits']) {
    t.type(c.resources?.[k]?.cpu, 'string', `${k}.cpu`)
    t.type(c.resources?.[k]?.memory, 'string', `${k}.memory`)
  }
})

t.test('security context: non-root 10001, read-only, no privileges', async t => {
  const pod = one('deployment.yaml', 'Deployment').spec.template.spec
  const c = pod.containers[0]
  const eff = (k: string): J => c.securityContext?.[k] ?? pod.securityContext?.[k]
  t.equal(eff('runAsNonRoot'), true)
  t.equal(eff('runAsUser'), UID)
  t.equal(c.securityContext?.readOnlyRootFilesystem, true)
  t.equal(c.securityContext?.allowPrivilegeEscalation, false)
  t.same(c.securityContext?.capabilities, { drop: ['ALL'] })
  t.same(eff('seccompProfile'), { type: 'RuntimeDefault' })
  t.not(c.securityContext?.privileged, true)
  t.equal(pod.hostNetwork ?? false, false)
  t.equal(pod.hostPID ?? false, false)

  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  t.match(last, new RegExp(`^USER ${UID}(:${UID})?$`, 'm'), 'the image runs as the same uid')
  t.match(last, new RegExp(`^EXPOSE ${CONTAINER_PORT}$`, 'm'), 'the image exposes the container port')
  t.match(last, /^ENTRYPOINT \["node", ?"dist\/cli\.js"\]$/m)
})

t.test('RBAC: exactly get/list/watch on the watched kinds', async t => {
  const role = one('rbac.yaml', 'ClusterRole')
  const binding = one('rbac.yaml', 'ClusterRoleBinding')
  const sa = one('serviceaccount.yaml', 'ServiceAccount')
  const granted = new Set<string>()
  for (const r of role.rules) {
    t.same([...r.verbs].sort(), ['get', 'list', 'watch'], `verbs for ${JSON.stringify(r.resources)}`)
    t.equal(r.nonResourceURLs, undefined, 'no non-resource URLs')
    t.equal(r.resourceNames, undefined, 'no resourceNames')
    for (const g of r.apiGroups) for (const res of r.resources) granted.add(`${String(g)}/${String(res)}`)
  }
  for (const g of granted) t.notOk(g.includes('*'), `${g}: no wildcards`)
  const expected = new Set(DEFAULT_WATCHED_KINDS.map(k => `${k.group}/${k.resource}`))
  t.same([...granted].sort(), [...expected].sort(), 'granted (group, resource) pairs = DEFAULT_WATCHED_KINDS')
  t.equal(role.aggregationRule, undefined)

  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name })
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }])

  const rbacKinds = ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']
  t.equal(allResources().filter(d => rbacKinds.includes(d.kind)).length, 2, 'no other RBAC objects anywhere')
})

t.test('audit policy', async t => {
  const p = one('audit-policy.yaml', 'Policy')
  t.equal(p.apiVersion, 'audit.k8s.io/v1')
  t.ok(p.omitStages.includes('RequestReceived'), 'RequestReceived omitted')

  const first = p.rules[0]
  t.same(first, { level: 'None', verbs: ['get', 'list', 'watch'] }, 'first rule: reads -> None, for everything')
  const firstReadRule = p.rules.find((r: J) => (r.verbs ?? []).some((v: string) => ['get', 'list', 'watch'].includes(v)))
  t.equal(firstReadRule?.level, 'None', 'the first rule naming read verbs is None')

  const level = (q: AuditRequest): string => auditLevel(p, q)
  const ns = 'shop'
  for (const verb of ['get', 'list', 'watch']) {
    t.equal(level({ verb, group: 'apps', resource: 'deployments', namespace: ns }), 'None', `${verb} deployments`)
    t.equal(level({ verb, group: '', resource: 'secrets', namespace: ns }), 'None', `${verb} secrets`)
    t.equal(level({ verb, path: '/healthz' }), 'None', `${verb} /healthz`)
  }

  // Secret values never leave the apiserver.
  for (const verb of WRITE_VERBS) t.equal(level({ verb, group: '', resource: 'secrets', namespace: ns, name: 's' }), 'Metadata', `${verb} secrets`)
  const secretsRuleIdx = p.rules.findIndex((r: J) => (r.resources ?? []).some((g: J) => (g.group ?? '') === '' && (g.resources ?? []).includes('secrets')))
  t.ok(secretsRuleIdx > 0, 'there is a secrets rule')
  t.equal(p.rules[secretsRuleIdx]?.level, 'Metadata', 'the secrets rule is Metadata')
  for (const [i, r] of p.rules.entries()) {
    if (r.level !== 'Request' && r.level !== 'RequestResponse') continue
    t.ok(i > secretsRuleIdx, `Request-level rule #${i} comes after the secrets rule`)
    for (const g of r.resources ?? []) {
      t.ok((g.resources ?? []).length > 0, `rule #${i}: group ${JSON.stringify(g.group)} lists its resources`)
      for (const res of g.resources ?? []) t.notOk(res.includes('*') || res === 'secrets', `rule #${i}: ${String(res)} is explicit and not secrets`)
    }
    t.ok((r.resources ?? []).length > 0, `rule #${i} names its resources`)
  }
  t.equal(level({ verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: ns }), 'None', 'TokenRequest responses (tokens) are not sent')

  // The writes kubechanges needs in full.
  const full: Array<[string, string, string?]> = [
    ['apps', 'deployments'], ['apps', 'deployments', 'status'], ['apps', 'deployments', 'scale'],
    ['apps', 'replicasets'], ['apps', 'replicasets', 'status'], ['apps', 'replicasets', 'scale'],
    ['apps', 'statefulsets'], ['apps', 'statefulsets', 'status'], ['apps', 'statefulsets', 'scale'],
    ['apps', 'daemonsets'], ['apps', 'daemonsets', 'status'],
    ['', 'services'], ['', 'services', 'status'],
    ['discovery.k8s.io', 'endpointslices'],
    ['batch', 'jobs'], ['batch', 'jobs', 'status'],
    ['', 'configmaps'],
    // Custom resources with built-in status rules (src/detectors/status).
    ['argoproj.io', 'rollouts'], ['argoproj.io', 'rollouts', 'status'],
    ['helm.toolkit.fluxcd.io', 'helmreleases'], ['helm.toolkit.fluxcd.io', 'helmreleases', 'status'],
    ['kustomize.toolkit.fluxcd.io', 'kustomizations'], ['kustomize.toolkit.fluxcd.io', 'kustomizations', 'status'],
    ['source.toolkit.fluxcd.io', 'gitrepositories', 'status'], ['source.toolkit.fluxcd.io', 'ocirepositories', 'status'],
    ['cert-manager.io', 'certificates'], ['cert-manager.io', 'certificates', 'status'], ['cert-manager.io', 'issuers', 'status'],
    ['serving.knative.dev', 'services'], ['serving.knative.dev', 'services', 'status']
  ]
  for (const [group, resource, subresource] of full) {
    for (const verb of WRITE_VERBS) {
      t.equal(level({ verb, group, resource, subresource, namespace: ns, name: 'x' }), 'RequestResponse', `${verb} ${group}/${resource}${subresource !== undefined ? '/' + subresource : ''}`)
    }
  }
  t.equal(level({ verb: 'update', group: 'apps', resource: 'deployments', subresource: 'status', namespace: ns, user: 'system:serviceaccount:kube-system:deployment-controller' }), 'RequestResponse', 'deployments/status by the controller')

  // Everything else that writes: Metadata; noise: None.
  for (const [group, resource, subresource] of [['', 'pods'], ['', 'pods', 'eviction'], ['rbac.authorization.k8s.io', 'roles'], ['', 'namespaces'], ['apps', 'controllerrevisions'], ['batch', 'cronjobs'], ['networking.k8s.io', 'ingresses']] as Array<[string, string, string?]>) {
    t.equal(level({ verb: 'create', group, resource, subresource, namespace: ns }), 'Metadata', `create ${group}/${resource}${subresource !== undefined ? '/' + subresource : ''}`)
  }
  for (const [group, resource, subresource] of [['coordination.k8s.io', 'leases'], ['', 'events'], ['events.k8s.io', 'events'], ['authentication.k8s.io', 'tokenreviews'], ['authorization.k8s.io', 'subjectaccessreviews'], ['authorization.k8s.io', 'selfsubjectaccessreviews'], ['', 'nodes', 'status']] as Array<[string, string, string?]>) {
    t.not(level({ verb: 'create', group, resource, subresource }), 'RequestResponse', `${group}/${resource} noise is not sent in full`)
    t.not(level({ verb: 'update', group, resource, subresource }), 'Request', `${group}/${resource} noise is not sent in full`)
  }

  // Self-check of the evaluator: order matters, wildcards and subresources behave like kube-apiserver.
  const bad = { rules: [{ level: 'RequestResponse', resources: [{ group: '' }] }, { level: 'Metadata', resources: [{ group: '', resources: ['secrets'] }] }] }
  t.equal(auditLevel(bad, { verb: 'create', group: '', resource: 'secrets' }), 'RequestResponse', 'self-check: a broad rule before the secrets rule leaks secrets')
  t.equal(auditLevel({ rules: [{ level: 'Request', resources: [{ group: 'apps', resources: ['deployments'] }] }] }, { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'status' }), 'None', 'self-check: "deployments" does not match deployments/status')
  t.equal(auditLevel({ rules: [{ level: 'Request', resources: [{ group: 'apps', resources: ['*/status'] }] }] }, { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'status' }), 'Request', 'self-check: "*/status"')
})

t.test('audit webhook kubeconfig', async t => {
  const k = one('audit-webhook-kubeconfig.yaml', 'Config')
  t.equal(k.apiVersion, 'v1')
  t.equal(k.clusters.length, 1)
  t.equal(k.contexts.length, 1)
  t.equal(k.users.length, 1)
  const ctx = k.contexts.find((c: J) => c.name === k['current-context'])
  t.ok(ctx, 'current-context exists')
  const cluster = k.clusters.find((c: J) => c.name === ctx?.context?.cluster)?.cluster
  t.ok(cluster, 'the context names an existing cluster')
  t.ok(k.users.some((u: J) => u.name === ctx?.context?.user), 'the context names an existing user')

  const url = new URL(String(cluster?.server).replace('${KUBECHANGES_SERVICE_IP}', '10.96.0.50'))
  t.equal(url.protocol, 'https:')
  t.equal(url.port, String(CONTAINER_PORT), 'port 8443')
  t.equal(url.pathname, AUDIT_PATH)
  const svc = one('service.yaml', 'Service')
  t.ok(svc.spec.ports.some((p: J) => p.port === CONTAINER_PORT), 'the Service exposes 8443 for the apiserver')
  t.equal(cluster?.['certificate-authority-data'], CA_PLACEHOLDER, 'CA placeholder')
  t.equal(cluster?.['tls-server-name'], `${SERVICE}.${NAMESPACE}.svc`, 'verify the cert as the Service DNS name (a SAN of `kubechanges certs`)')
  t.notOk(cluster?.['insecure-skip-tls-verify'], 'TLS is verified')

  // The apiserver presents what the Deployment requires on /audit.
  const user = k.users.find((u: J) => u.name === ctx?.context?.user)?.user
  t.same(user, { 'client-certificate': '/etc/kubernetes/kubechanges/client.crt', 'client-key': '/etc/kubernetes/kubechanges/client.key', token: TOKEN_PLACEHOLDER }, 'client certificate and bearer token')
  const src = readFileSync(join(MANIFESTS, 'audit-webhook-kubeconfig.yaml'), 'utf8')
  t.match(src, /envsubst '\$CA_BUNDLE \$KUBECHANGES_SERVICE_IP \$AUDIT_TOKEN'/, 'the documented envsubst fills in every placeholder')
  t.match(readFileSync(join(MANIFESTS, 'deployment.yaml'), 'utf8'), /create secret generic kubechanges-audit-token --from-file=token=certs\/audit-token/, 'deployment.yaml says how to create the token Secret')
})

t.test('optional NetworkPolicy: only the control plane reaches the webhook port', async t => {
  const np = one('networkpolicy.yaml', 'NetworkPolicy')
  const dep = one('deployment.yaml', 'Deployment')
  t.notOk(one('kustomization.yaml', 'Kustomization').resources.includes('networkpolicy.yaml'), 'not applied by kustomize: it needs your control-plane range')
  t.equal(np.metadata.namespace, NAMESPACE)
  const labels = dep.spec.template.metadata.labels
  t.ok(Object.keys(np.spec.podSelector.matchLabels).length > 0, 'selects pods by label')
  for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) t.equal(labels[k], v, `the pod has label ${k}`)
  t.same(np.spec.policyTypes, ['Ingress'], 'ingress only: kubechanges still reaches the API server and SMTP')
  t.same(np.spec.ingress, [{ from: [{ ipBlock: { cidr: CIDR_PLACEHOLDER } }], ports: [{ protocol: 'TCP', port: CONTAINER_PORT }] }], 'one rule: the control plane, to the container port')
  t.match(readFileSync(join(MANIFESTS, 'networkpolicy.yaml'), 'utf8'), /envsubst '\$CONTROL_PLANE_CIDR'/, 'says how to fill in the range')
})

t.test('the CA placeholder is ${CA_BUNDLE} everywhere', async t => {
  const found: string[] = []
  const walk = (v: J, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`))
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'caBundle' || k === 'certificate-authority-data') {
          t.equal(x, CA_PLACEHOLDER, `${path}.${k}`)
          found.push(`${path}.${k}`)
        }
        walk(x, `${path}.${k}`)
      }
    }
  }
  for (const { file, docs } of loaded) docs.forEach((d, i) => walk(d, `${file}#${i}`))
  t.equal(found.length, 2, 'the webhook caBundle and the kubeconfig certificate-authority-data')

  const readme = join(ROOT, 'certs', 'README.md')
  if (existsSync(readme)) t.ok(readFileSync(readme, 'utf8').includes(CA_PLACEHOLDER), 'certs/README.md documents the same placeholder')
  else t.pass('certs/README.md documents the same placeholder', { skip: 'certs/README.md not written yet' })
})

t.test('ConfigMap holds the default config', async t => {
  const cm = one('configmap.yaml', 'ConfigMap')
  t.equal(cm.metadata.name, 'kubechanges-config')
  const cfg = parse(cm.data['config.yaml'])
  t.same(cfg, {
    quietPeriodSeconds: 5,
    window: { maxObjects: 10000, ttlSeconds: 1800 },
    retention: { maxAgeDays: 30, maxCount: 100000 },
    watch: { enabled: true, namespaces: [] },
    notify: { sinks: [{ name: 'log', type: 'log' }] }
  })
})

t.test('kubechanges accepts the Deployment args and the ConfigMap config', async t => {
  const dep = one('deployment.yaml', 'Deployment')
  const cm = one('configmap.yaml', 'ConfigMap')
  const args: string[] = dep.spec.template.spec.containers[0].args
  t.equal(args[0], 'serve')
  const flags: Record<string, string> = {}
  for (let i = 1; i < args.length; i += 2) {
    t.match(args[i], /^--[a-z-]+$/, `${args[i]} is a flag`)
    flags[args[i].slice(2)] = args[i + 1]
  }
  // The config file as mounted, at a path that exists here.
  const dir = mkdtempSync(join(tmpdir(), 'kubechanges-manifests-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cfgFile = join(dir, 'config.yaml')
  writeFileSync(cfgFile, cm.data['config.yaml'])
  const cfg = loadConfig({ ...flags, config: cfgFile } as Flags, {})
  t.equal(cfg.host, '0.0.0.0')
  t.equal(cfg.port, CONTAINER_PORT)
  t.equal(cfg.store, '/var/lib/kubechanges/changes.db')
  t.same(cfg.tls, { cert: '/etc/kubechanges/tls/tls.crt', key: '/etc/kubechanges/tls/tls.key', clientCA: '/etc/kubechanges/tls/ca.crt' })
  t.equal(cfg.auditTokenFile, '/etc/kubechanges/audit-token/token')
  t.same(cfg.window, { maxObjects: 10000, ttlSeconds: 1800 })
  t.equal(cfg.watch.enabled, true)

  const notify = parseNotifyConfig(cfg.notify, {})
  t.same(notify.sinks.map(s => s.name), ['log'])
  t.equal(notify.origin, 'config')

  // With the SMTP Secret (placeholders filled in): no routes, so every change goes to the log and by e-mail.
  const smtpEnv = { [ENV_SMTP_URL]: 'smtps://user:secret@smtp.example.com:465', [ENV_MAIL_FROM]: 'kubechanges@example.com', [ENV_MAIL_TO]: 'ops@example.com' }
  const withMail = parseNotifyConfig(parse(cm.data['config.yaml']).notify, smtpEnv)
  t.same(withMail.sinks.map(s => s.name).sort(), ['email', 'log'], 'the Secret makes the sink "email"')
  t.same([...withMail.defaultSinks].sort(), ['email', 'log'], 'and every change reaches it')
})

t.test('SMTP Secret template', async t => {
  const s = one('secret-smtp.example.yaml', 'Secret')
  const dep = one('deployment.yaml', 'Deployment')
  t.equal(s.metadata.name, dep.spec.template.spec.containers[0].envFrom[0].secretRef.name, 'the name the Deployment reads')
  t.same(Object.keys(s.stringData).sort(), [ENV_MAIL_FROM, ENV_MAIL_TO, ENV_SMTP_URL].sort(), 'the variables kubechanges reads')
  t.equal(s.data, undefined)
  for (const [k, v] of Object.entries(s.stringData)) t.match(v, /<[^>]+>/, `${k} is a placeholder`)
  t.notOk(one('kustomization.yaml', 'Kustomization').resources.includes('secret-smtp.example.yaml'), 'not applied by kustomize')
})

t.test('as deployed, /audit answers only the webhook kubeconfig\'s user (real HTTPS, the files `kubechanges certs --client` writes)', async t => {
  const dep = one('deployment.yaml', 'Deployment')
  const cm = one('configmap.yaml', 'ConfigMap')
  const kubeconfig = one('audit-webhook-kubeconfig.yaml', 'Config')
  const args: string[] = dep.spec.template.spec.containers[0].args
  const dir = mkdtempSync(join(tmpdir(), 'kubechanges-deployed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The Secrets as the kubelet mounts them, under dir instead of /etc/kubechanges.
  const bundle = generateCertificates({ service: SERVICE, namespace: NAMESPACE, client: true })
  await writeCertificates(join(dir, 'certs'), bundle)
  mkdirSync(join(dir, 'tls'))
  for (const f of ['tls.crt', 'tls.key', 'ca.crt']) copyFileSync(join(dir, 'certs', f), join(dir, 'tls', f))
  const token = 'b1946ac92492d2347c6235b4d2611184'
  mkdirSync(join(dir, 'audit-token'))
  writeFileSync(join(dir, 'audit-token', 'token'), `${token}\n`)
  writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml'])
  const flags: Record<string, string> = {}
  for (let i = 1; i < args.length; i += 2) flags[args[i]!.slice(2)] = args[i + 1]!.replace(/^\/etc\/kubechanges\//, `${dir}/`)
  const config = loadConfig({ ...flags, host: '127.0.0.1', port: '0', store: join(dir, 'changes.db') } as Flags, {})
  const app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), metrics: createMetrics({ defaults: false }), write: () => {} })
  t.teardown(app.close)
  const port = Number(new URL(await app.listen()).port)

  // The apiserver's side: what the kubeconfig's user presents, files from the host folder.
  const user = kubeconfig.users[0].user
  const hostFile = (p: string): string => readFileSync(join(dir, 'certs', posix.basename(p)), 'utf8')
  const apiserver = { ca: bundle.caCert, cert: hostFile(user['client-certificate']), key: hostFile(user['client-key']), token: String(user.token).replace(TOKEN_PLACEHOLDER, token) }
  const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [] })
  t.same(await httpsRequest(port, AUDIT_PATH, { ...apiserver, body }), { status: 200, body: '{"received":0,"observations":0,"dropped":0,"malformed":0}' }, 'kube-apiserver is let in')
  t.equal((await httpsRequest(port, AUDIT_PATH, { ca: bundle.caCert, body })).status, 401, 'an in-cluster pod with nothing is refused')
  t.equal((await httpsRequest(port, AUDIT_PATH, { ca: bundle.caCert, token: apiserver.token, body })).status, 401, 'the token alone is not enough')
  t.equal((await httpsRequest(port, AUDIT_PATH, { ca: bundle.caCert, cert: apiserver.cert, key: apiserver.key, body })).status, 401, 'the certificate alone is not enough')
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CONNECT' } })
  t.equal((await httpsRequest(port, ADMISSION_PATH, { ca: bundle.caCert, body: review })).status, 200, 'the admission webhook needs neither')
})
