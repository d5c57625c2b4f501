import type { Socket } from 'node:net'
import { errors, type KubechangesError } from '../errors.js'
import type { PipelineMetrics } from '../metrics.js'

// Errors below the routes: node's header and request timeouts (a slow-loris
// client, a body that trickles) and malformed HTTP. Answered in the same
// {code, message} shape as every other error, counted, and the socket closed.

export function clientErrorHandler (metrics: PipelineMetrics): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const e: KubechangesError = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? errors.REQUEST_TIMEOUT('the request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? errors.HEADERS_TOO_LARGE('request headers too large')
        : errors.BAD_REQUEST('malformed HTTP request')
    metrics.rejected.inc({ route: 'connection', code: String(e.statusCode) })
    if (socket.writable) {
      const body = JSON.stringify({ code: e.code, message: e.message })
      socket.write(`HTTP/1.1 ${e.statusCode} ${statusText(e.statusCode)}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
    }
    socket.destroy()
  }
}

function statusText (code: number): string {
  return code === 408 ? 'Request Timeout' : code === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
}
