// The staff token lives in sessionStorage: it ends with the browser tab, never in a cookie.
const KEY = 'qunyun.staff.token'

/** What the console reads from a staff token (a JWT the API signs; the API still checks it). */
export interface TokenClaims {
  /** staff id */
  sub?: string
  /** username */
  name?: string
  /** expiry, unix seconds */
  exp?: number
  /** the staff member's roles */
  roles?: unknown
}

export function getToken(): string | null {
  return sessionStorage.getItem(KEY)
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY)
}

// The last token decoded and its claims: every request asks whether the token is expiring, and the
// store's role and name read it too (a decoder and a JSON parse each time, ~50 ms of a cold dashboard
// load on a busy machine).
let last: { token: string; claims: TokenClaims | null } | null = null

/** The claims of a JWT's payload, unverified (for timing and the username only); null when it is not one. */
export function decodeClaims(token: string | null): TokenClaims | null {
  if (token === null) return null
  if (last?.token !== token) last = { token, claims: decode(token) }
  return last.claims
}

function decode(token: string): TokenClaims | null {
  const payload = token.split('.')[1]
  if (!payload) return null
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=')
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes))
    return claims && typeof claims === 'object' ? (claims as TokenClaims) : null
  } catch {
    return null
  }
}

/** When the token expires (ms since the epoch), or null when it does not say. */
export function expiresAt(token: string | null): number | null {
  const exp = decodeClaims(token)?.exp
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null
}

/** Whether the token has expired, or will within `marginMs`. A token without a known expiry is left to the API. */
export function isExpiring(token: string | null, marginMs = 0, now = Date.now()): boolean {
  const at = expiresAt(token)
  return at !== null && at - marginMs <= now
}
