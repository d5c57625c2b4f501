import { readFileSync, existsSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { isIPv6 } from 'node:net'
import { isAbsolute, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { newClusters, newContexts, newUsers, type Cluster, type Context, type User } from '@kubernetes/client-node/dist/config_types.js'
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js'
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js'
import type { KubeConfig } from '@kubernetes/client-node'

// A kubeconfig as client-node's KubeConfig reads and applies it, without
// importing client-node's index: that import alone (every generated API
// class and model of the Kubernetes API, none of which the watch uses) costs
// about 70 MB of resident memory for the life of the process — a quarter of
// the 300 MB a 100,000-object cluster has to fit in. So the entry parsing
// (config_types: the same validation and messages), the exec-plugin and
// token-file authenticators are client-node's own modules, imported one by
// one; what is written here is only KubeConfig's glue: pick the current
// context, put TLS material and the Authorization header on the request
// options. Whatever the glue does not cover (a proxy-url, the azure, gcp
// and oidc auth-providers) is handed to client-node's full KubeConfig,
// loaded the first time it is needed, so those users get exactly
// client-node's behaviour and pay its memory.

export type { Cluster, Context, User }

/** What the informers and discovery need from a kubeconfig: satisfied by this class and by client-node's KubeConfig. */
export interface ClusterAccess {
  getCurrentCluster: () => Cluster | null
  applyToHTTPSOptions: (opts: https.RequestOptions) => Promise<void>
}

const SERVICEACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'

export class ClusterConfig implements ClusterAccess {
  clusters: Cluster[] = []
  users: User[] = []
  contexts: Context[] = []
  currentContext = ''
  // Stateful (cached tokens, exec credentials until they expire), as client-node's are per KubeConfig.
  readonly #exec = new ExecAuth()
  readonly #file = new FileAuth()
  #full: Promise<KubeConfig> | undefined

  /** YAML or JSON text of one kubeconfig file; throws client-node's messages for malformed entries. */
  loadFromString (text: string): void {
    // Merge keys (<<) as kubectl's YAML 1.1 parser and client-node's js-yaml take them.
    const obj = (parseYaml(text, { merge: true }) ?? {}) as Record<string, unknown>
    this.clusters = newClusters(obj.clusters)
    this.contexts = newContexts(obj.contexts)
    this.users = newUsers(obj.users)
    this.currentContext = typeof obj['current-context'] === 'string' ? obj['current-context'] : ''
  }

  loadFromOptions (o: { clusters: Cluster[], users: User[], contexts: Context[], currentContext: string }): void {
    this.clusters = o.clusters
    this.users = o.users
    this.contexts = o.contexts
    this.currentContext = o.currentContext
  }

  /** The pod's service account, as client-node's loadFromCluster() (the token file is re-read when it rotates). */
  loadFromCluster (env: NodeJS.ProcessEnv = process.env, root = SERVICEACCOUNT): void {
    const host = env.KUBERNETES_SERVICE_HOST ?? ''
    const port = env.KUBERNETES_SERVICE_PORT ?? ''
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https'
    this.clusters = [{ name: 'inCluster', caFile: `${root}/ca.crt`, server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, skipTLSVerify: false }]
    this.users = [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${root}/token` } } }]
    const nsFile = `${root}/namespace`
    this.contexts = [{ cluster: 'inCluster', name: 'inClusterContext', user: 'inClusterUser', namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8') : undefined }]
    this.currentContext = 'inClusterContext'
  }

  makePathsAbsolute (dir: string): void {
    const abs = (f: string): string => isAbsolute(f) ? f : join(dir, f)
    for (const c of this.clusters) if (c.caFile !== undefined && c.caFile !== '') c.caFile = abs(c.caFile)
    for (const u of this.users) {
      if (u.certFile !== undefined && u.certFile !== '') u.certFile = abs(u.certFile)
      if (u.keyFile !== undefined && u.keyFile !== '') u.keyFile = abs(u.keyFile)
    }
  }

  getContextObject (name: string): Context | null { return this.contexts.find(c => c.name === name) ?? null }
  getCluster (name: string): Cluster | null { return this.clusters.find(c => c.name === name) ?? null }
  getUser (name: string): User | null { return this.users.find(u => u.name === name) ?? null }
  getCurrentCluster (): Cluster | null {
    const ctx = this.getContextObject(this.currentContext)
    return ctx === null ? null : this.getCluster(ctx.cluster)
  }

  getCurrentUser (): User | null {
    const ctx = this.getContextObject(this.currentContext)
    return ctx === null ? null : this.getUser(ctx.user)
  }

  /**
   * Who puts the credentials on a request, in client-node's order (azure,
   * gcp, exec, token file, oidc): ours for exec and token files, client-node's
   * full KubeConfig for a proxy or the other auth-providers.
   */
  authBy (): 'none' | 'exec' | 'file' | 'client-node' {
    const cluster = this.getCurrentCluster()
    const user = this.getCurrentUser()
    if (cluster?.proxyUrl !== undefined && cluster.proxyUrl !== '') return 'client-node'
    if (user === null) return 'none'
    const provider = user.authProvider?.name
    if (provider === 'azure' || provider === 'gcp') return 'client-node'
    if (this.#exec.isAuthProvider(user)) return 'exec'
    // (FileAuth.isAuthProvider answers with the token file's path, not a boolean.)
    if (Boolean(this.#file.isAuthProvider(user))) return 'file'
    return user.authProvider !== undefined && user.authProvider !== null ? 'client-node' : 'none'
  }

  /** client-node's KubeConfig.applyToHTTPSOptions: TLS, impersonation, credentials and a fresh agent. */
  async applyToHTTPSOptions (opts: https.RequestOptions): Promise<void> {
    const by = this.authBy()
    if (by === 'client-node') {
      await (await this.#fullClient()).applyToHTTPSOptions(opts)
      return
    }
    const cluster = this.getCurrentCluster()
    const user = this.getCurrentUser()
    if (user !== null) {
      if (cluster?.skipTLSVerify === true) opts.rejectUnauthorized = false
      if (cluster?.tlsServerName !== undefined && cluster.tlsServerName !== '') opts.servername = cluster.tlsServerName
      const ca = fileOrData(cluster?.caFile, cluster?.caData)
      if (ca !== null) opts.ca = ca
      const cert = fileOrData(user.certFile, user.certData)
      if (cert !== null) opts.cert = cert
      const key = fileOrData(user.keyFile, user.keyData)
      if (key !== null) opts.key = key
      // Our requests always pass headers as an object (never the raw array form).
      const headers = (opts.headers ??= {}) as http.OutgoingHttpHeaders
      if (user.impersonateUser !== undefined && user.impersonateUser !== null) headers['Impersonate-User'] = user.impersonateUser
      if (by === 'exec') await this.#exec.applyAuthentication(user, opts)
      else if (by === 'file') {
        await this.#file.applyAuthentication(user, opts)
        // client-node sends the file as read; a trailing newline (`echo tok > file`) then makes an
        // invalid header and every request fails. client-go trims it (fileTokenSource): so do we.
        if (typeof headers.Authorization === 'string') headers.Authorization = headers.Authorization.trim()
      }
      if (user.token !== undefined && user.token !== '') (opts.headers as http.OutgoingHttpHeaders).Authorization = `Bearer ${user.token}`
      if (user.username !== undefined && user.username !== '') opts.auth = `${user.username}:${user.password ?? ''}`
    }
    const agentOptions: https.AgentOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, timeout: opts.timeout, servername: opts.servername }
    if (opts.rejectUnauthorized !== undefined) agentOptions.rejectUnauthorized = opts.rejectUnauthorized
    if (cluster?.server.startsWith('http:') === true) {
      if (!cluster.skipTLSVerify) throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false')
      opts.agent = new http.Agent(agentOptions)
    } else {
      opts.agent = new https.Agent(agentOptions)
    }
  }

  async #fullClient (): Promise<KubeConfig> {
    this.#full ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig()
      kc.loadFromOptions({ clusters: this.clusters, users: this.users, contexts: this.contexts, currentContext: this.currentContext })
      return kc
    })
    return await this.#full
  }
}

function fileOrData (file: string | undefined, data: string | undefined): Buffer | null {
  if (file !== undefined && file !== '') return readFileSync(file)
  if (data !== undefined && data !== '') return Buffer.from(data, 'base64')
  return null
}
