// The HTTP client's token renewal: a fake network (fetch) and storage, the client's own logic.
import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('element-plus', () => ({ ElMessage: { error: vi.fn() } }))
vi.mock('element-plus/es/components/message/style/css', () => ({}))

const store = new Map<string, string>()
vi.stubGlobal('sessionStorage', {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
})

const { http, setRenewHandler, setUnauthorizedHandler } = await import('./http')
const { getToken, setToken } = await import('@/utils/token')

const b64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const jwt = (exp: number, name = 'admin') => `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify({ name, exp }))}.sig`
const now = () => Math.floor(Date.now() / 1000)

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
const problem = (slug: string) => json(401, { type: `https://qunyun.dev/problems/${slug}`, title: 'Unauthorized', status: 401, detail: '登录已过期，请重新登录。' })

let sent: { url: string; auth: string | undefined }[]
let answers: Response[]
let unauthorized: number

beforeEach(() => {
  store.clear()
  sent = []
  answers = []
  unauthorized = 0
  setUnauthorizedHandler(() => void unauthorized++)
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    sent.push({ url, auth: (init.headers as Record<string, string>).Authorization })
    return answers.shift() ?? json(200, { ok: true })
  })
})

describe('token renewal', () => {
  it('renews an expired token once for every request waiting, then sends them with the new one', async () => {
    setToken(jwt(now() - 10))
    const fresh = jwt(now() + 3600)
    const renewer = vi.fn(async () => {
      setToken(fresh)
      return true
    })
    setRenewHandler(renewer)
    await Promise.all([http.get('/admin/v1/a'), http.get('/admin/v1/b'), http.get('/admin/v1/c')])
    expect(renewer).toHaveBeenCalledTimes(1)
    expect(sent.map((s) => s.auth)).toEqual([`Bearer ${fresh}`, `Bearer ${fresh}`, `Bearer ${fresh}`])
    expect(unauthorized).toBe(0)
  })

  it('renews on a token-expired refusal and makes the request again, once', async () => {
    const old = jwt(now() + 3600) // the console thinks it valid; the API says otherwise (clock skew)
    const fresh = jwt(now() + 7200)
    setToken(old)
    setRenewHandler(async () => {
      setToken(fresh)
      return true
    })
    answers = [problem('token-expired')]
    await expect(http.get('/admin/v1/a')).resolves.toEqual({ ok: true })
    expect(sent.map((s) => s.auth)).toEqual([`Bearer ${old}`, `Bearer ${fresh}`])
  })

  it('sends a refused token that is not expired (revoked, forged) to the login page without renewing', async () => {
    setToken('not-a-token')
    const renewer = vi.fn(async () => true)
    setRenewHandler(renewer)
    answers = [problem('token-invalid')]
    await expect(http.get('/admin/v1/a')).rejects.toMatchObject({ status: 401 })
    expect(renewer).not.toHaveBeenCalled()
    expect(unauthorized).toBe(1)
    expect(getToken()).toBeNull()
  })

  it('does not send an expired token it could not renew, and returns to login', async () => {
    setToken(jwt(now() - 10))
    setRenewHandler(async () => false)
    await expect(http.get('/admin/v1/a', undefined, { silent: true })).rejects.toMatchObject({ status: 401 })
    expect(sent).toEqual([])
    expect(unauthorized).toBe(1)
    expect(getToken()).toBeNull()
  })

  it('never renews for the sign-in call itself', async () => {
    setToken(jwt(now() - 10))
    const renewer = vi.fn(async () => true)
    setRenewHandler(renewer)
    answers = [json(401, { type: 'x/invalid-credentials', title: 'Unauthorized', status: 401, detail: '用户名或密码错误。' })]
    await expect(http.post('/admin/v1/session', { username: 'a', password: 'b' }, { silent: true })).rejects.toMatchObject({ status: 401 })
    expect(renewer).not.toHaveBeenCalled()
  })
})
