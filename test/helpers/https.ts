import https from 'node:https'

// One HTTPS request to a kubechanges on loopback, as kube-apiserver makes it:
// verifying the server as the Service's DNS name, optionally presenting a
// client certificate and a bearer token. No agent: one connection, closed after.

export interface HttpsRequestOptions {
  ca: string
  cert?: string
  key?: string
  token?: string
  body?: string
}

export function httpsRequest (port: number, path: string, opts: HttpsRequestOptions): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    const req = https.request({ host: '127.0.0.1', port, path, method: opts.body !== undefined ? 'POST' : 'GET', servername: 'kubechanges.kubechanges.svc', ca: opts.ca, ...(opts.cert !== undefined ? { cert: opts.cert, key: opts.key } : {}), headers, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
