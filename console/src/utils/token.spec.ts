import { describe, expect, it } from 'vitest'
import { decodeClaims, expiresAt, isExpiring } from './token'

// A staff token as the API issues it (HS256 JWT); the signature is not the console's to check.
const b64url = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const jwt = (claims: object) => `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.c2ln`

describe('token claims', () => {
  it('reads the username and expiry of a staff token, UTF-8 names included', () => {
    const token = jwt({ iss: 'qunyun', typ: 'staff', sub: '3', name: '运营-小王', exp: 1_800_000_000 })
    expect(decodeClaims(token)).toMatchObject({ sub: '3', name: '运营-小王', exp: 1_800_000_000 })
    expect(expiresAt(token)).toBe(1_800_000_000_000)
  })

  it('knows nothing of a token that is not a JWT (the API decides)', () => {
    expect(decodeClaims('not-a-token')).toBeNull()
    expect(decodeClaims('a.%%%.c')).toBeNull()
    expect(expiresAt(null)).toBeNull()
    expect(isExpiring('not-a-token', 60_000)).toBe(false)
  })

  it('is expiring within the margin before its expiry, and after it', () => {
    const token = jwt({ exp: 1000 })
    expect(isExpiring(token, 0, 999_000)).toBe(false)
    expect(isExpiring(token, 5_000, 996_000)).toBe(true)
    expect(isExpiring(token, 0, 1_000_000)).toBe(true)
  })

  it('decodes a token once, and another token anew (every request asks whether it is expiring)', () => {
    const first = jwt({ sub: '3', exp: 1000 })
    const second = jwt({ sub: '4', exp: 2000 })
    expect(decodeClaims(first)).toBe(decodeClaims(first))
    expect(decodeClaims(second)).toMatchObject({ sub: '4' })
    expect(decodeClaims(first)).toMatchObject({ sub: '3' })
    expect(decodeClaims(null)).toBeNull()
  })
})
