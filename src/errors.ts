// One catalogue of errors with stable codes, as fastify does: a code never
// changes meaning once released, so operators can alert on it.

export class KubechangesError extends Error {
  readonly code: string
  readonly statusCode: number
  constructor (code: string, message: string, statusCode = 500, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KubechangesError'
    this.code = code
    this.statusCode = statusCode
  }
}

type Factory = (message: string, options?: { cause?: unknown }) => KubechangesError

function define (code: string, statusCode: number): Factory & { code: string } {
  const f = ((message: string, options?: { cause?: unknown }) => new KubechangesError(code, message, statusCode, options)) as Factory & { code: string }
  f.code = code
  return f
}

export const errors = {
  // HTTP input
  BAD_JSON: define('KC_BAD_JSON', 400),
  BAD_EVENT_LIST: define('KC_BAD_EVENT_LIST', 400),
  BAD_ADMISSION_REVIEW: define('KC_BAD_ADMISSION_REVIEW', 400),
  BAD_PARAMETER: define('KC_BAD_PARAMETER', 400),
  TOO_DEEP: define('KC_TOO_DEEP', 400),
  UNAUTHORIZED: define('KC_UNAUTHORIZED', 401),
  NOT_FOUND: define('KC_NOT_FOUND', 404),
  // Connection level: a client too slow to send its request, or malformed HTTP
  REQUEST_TIMEOUT: define('KC_REQUEST_TIMEOUT', 408),
  HEADERS_TOO_LARGE: define('KC_HEADERS_TOO_LARGE', 431),
  BAD_REQUEST: define('KC_BAD_REQUEST', 400),
  BODY_TOO_LARGE: define('KC_BODY_TOO_LARGE', 413),
  UNSUPPORTED_MEDIA_TYPE: define('KC_UNSUPPORTED_MEDIA_TYPE', 415),
  OVERLOADED: define('KC_OVERLOADED', 503),
  // Items inside a batch (never an HTTP status of their own)
  BAD_EVENT: define('KC_BAD_EVENT', 400),
  // Start-up
  BAD_CONFIG: define('KC_BAD_CONFIG', 500),
  BAD_ARGUMENT: define('KC_BAD_ARGUMENT', 500),
  STORE_TOO_NEW: define('KC_STORE_TOO_NEW', 500),
  // Delivery
  DELIVERY_FAILED: define('KC_DELIVERY_FAILED', 502),
  // TLS / certificates
  TLS_LOAD_FAILED: define('KC_TLS_LOAD_FAILED', 500),
  STORE_FAILED: define('KC_STORE_FAILED', 503),
  INTERNAL: define('KC_INTERNAL', 500)
} as const

export function isKubechangesError (e: unknown): e is KubechangesError {
  return e instanceof KubechangesError
}
