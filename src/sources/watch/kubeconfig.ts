import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { ClusterConfig, type Cluster, type Context, type User } from './cluster-config.js'

// Which credentials `serve` watches with, found the way kubectl finds them,
// and checked up front so that a kubeconfig that cannot be used is one clear
// sentence, never a stack trace from deep inside a request.
//
// kubectl's rules (clientcmd's loading rules): KUBECONFIG is a list of files
// (':' on Unix); files that do not exist are skipped, as empty config; for a
// name found in several files (cluster, user, context, current-context) the
// first file wins. Without KUBECONFIG: the pod's service account, then
// ~/.kube/config. client-node's loadFromDefault() instead throws ENOENT on a
// missing file and 'Duplicate cluster' on a repeated name.

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'

export type Credentials =
  | { kind: 'ok', kc: ClusterConfig, source: string }
  /** Nothing to watch with: audit/admission-only, said once. */
  | { kind: 'none', message: string }
  /** Something is configured but cannot be used: audit/admission-only, said once as an error. */
  | { kind: 'unusable', message: string }

function firstLine (e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].trim()
}

function loadFile (file: string): ClusterConfig {
  const kc = new ClusterConfig()
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new Error(`cannot read it (${(e as NodeJS.ErrnoException).code ?? firstLine(e)})`)
  }
  try {
    // client-node's entry parsing (config_types) over whatever the YAML is: a scalar defines no clusters.
    kc.loadFromString(text.trim() === '' ? '{}' : text)
  } catch (e) {
    throw new Error(`not a valid kubeconfig: ${firstLine(e)}`)
  }
  kc.makePathsAbsolute(join(file, '..'))
  return kc
}

/** Merges per kubectl: the first file that names a cluster, user, context or current-context wins. */
function merge (configs: ClusterConfig[]): ClusterConfig {
  const byName = <T extends { name: string }>(lists: T[][]): T[] => {
    const out = new Map<string, T>()
    for (const l of lists) for (const x of l) if (!out.has(x.name)) out.set(x.name, x)
    return [...out.values()]
  }
  const kc = new ClusterConfig()
  kc.loadFromOptions({
    clusters: byName<Cluster>(configs.map(c => c.clusters ?? [])),
    users: byName<User>(configs.map(c => c.users ?? [])),
    contexts: byName<Context>(configs.map(c => c.contexts ?? [])),
    currentContext: configs.map(c => c.currentContext).find(c => c !== undefined && c !== '') ?? ''
  })
  return kc
}

function readable (file: string): string | undefined {
  try {
    // Read, not access(): a directory or a file only root may read passes access(R_OK) as root.
    readFileSync(file)
    return undefined
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? firstLine(e)
  }
}

/** Why this kubeconfig cannot reach a cluster, or undefined when it can. */
export function unusableBecause (kc: ClusterConfig): string | undefined {
  if ((kc.clusters ?? []).length === 0) return 'it defines no clusters'
  if (kc.currentContext === undefined || kc.currentContext === '') return 'no current-context is set'
  const ctx = kc.getContextObject(kc.currentContext)
  if (ctx === null) return `current-context "${kc.currentContext}" is not among its contexts (${(kc.contexts ?? []).map(c => c.name).join(', ') || 'none'})`
  const cluster = kc.getCluster(ctx.cluster)
  if (cluster === null) return `context "${ctx.name}" names cluster "${ctx.cluster}", which it does not define`
  try {
    void new URL(cluster.server)
  } catch {
    return `cluster "${cluster.name}" has a server that is not a URL: ${JSON.stringify(cluster.server)}`
  }
  const user = ctx.user !== undefined && ctx.user !== '' ? kc.getUser(ctx.user) : null
  if (ctx.user !== undefined && ctx.user !== '' && user === null) return `context "${ctx.name}" names user "${ctx.user}", which it does not define`
  const files: Array<[string, string | undefined]> = [
    ['certificate-authority', cluster.caFile],
    ['client-certificate', user?.certFile],
    ['client-key', user?.keyFile]
  ]
  for (const [what, file] of files) {
    if (file === undefined || file === '') continue
    const why = readable(file)
    if (why !== undefined) return `its ${what} file ${file} cannot be read (${why})`
  }
  return undefined
}

export function loadKubeConfig (env: NodeJS.ProcessEnv, home: string = homedir()): Credentials {
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '' && existsSync(SERVICE_ACCOUNT_TOKEN)
  let files: string[] = []
  let source: string
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') {
    const listed = env.KUBECONFIG.split(delimiter).filter(f => f !== '')
    files = listed.filter(f => existsSync(f))
    source = `KUBECONFIG=${env.KUBECONFIG}`
    if (files.length === 0) {
      if (!inCluster) return { kind: 'none', message: `KUBECONFIG names no file that exists (${listed.join(', ')}), so, as for kubectl, there is no cluster config: running audit/admission-only` }
    }
  } else if (inCluster) {
    source = 'in-cluster service account'
  } else {
    const file = join(home, '.kube', 'config')
    if (!existsSync(file)) return { kind: 'none', message: 'no cluster found (no KUBECONFIG, no ~/.kube/config, not in a pod): running audit/admission-only' }
    files = [file]
    source = file
  }
  if (files.length === 0) {
    const kc = new ClusterConfig()
    try {
      kc.loadFromCluster()
    } catch (e) {
      return { kind: 'unusable', message: `the pod's service account cannot be used (${firstLine(e)}): running audit/admission-only` }
    }
    return { kind: 'ok', kc, source: 'in-cluster service account' }
  }
  const configs: ClusterConfig[] = []
  for (const f of files) {
    try {
      configs.push(loadFile(f))
    } catch (e) {
      return { kind: 'unusable', message: `kubeconfig ${f} cannot be used: ${firstLine(e)}: running audit/admission-only` }
    }
  }
  const kc = merge(configs)
  const why = unusableBecause(kc)
  if (why !== undefined) return { kind: 'unusable', message: `kubeconfig (${source}) cannot be used: ${why}: running audit/admission-only` }
  return { kind: 'ok', kc, source }
}
