// The one HTTP client of the console: staff token in, problem+json out as a message.
// A token about to expire (or refused as expired) is renewed once, with every request
// made meanwhile waiting for the renewal, then retried; one that cannot be renewed
// sends the user to the login page, back to this route afterwards.
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { clearToken, getToken, isExpiring } from '@/utils/token'
import { i18n } from '@/locales'
import { problemMessage, problemSlug, type Problem } from './problem'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    message: string,
  ) {
    super(message)
  }
}

type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  /** Don't show the problem as a message (the caller shows it itself). */
  silent?: boolean
}

let onUnauthorized: () => void = () => undefined

/** What to do when the token is refused (the router sends the user to the login page). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler
}

/** Renew the staff token (true when a new one is stored); the auth store asks for the password again. */
export type Renewer = () => Promise<boolean>
let renewer: Renewer | null = null
let renewing: Promise<boolean> | null = null

/** How the token is renewed (set by the auth store). */
export function setRenewHandler(handler: Renewer | null): void {
  renewer = handler
}

/** Renew the token once, however many requests ask at the same time. */
export function renewSession(): Promise<boolean> {
  if (!renewing) {
    const attempt = renewer ? renewer() : Promise.resolve(false)
    renewing = attempt.catch(() => false).finally(() => {
      renewing = null
    })
  }
  return renewing
}

/** A token this close to its expiry is renewed before it is sent (clocks drift; the request takes time). */
export const RENEW_MARGIN_MS = 15_000
const SESSION_PATH = '/admin/v1/session'

function expiredProblem(): Problem {
  const detail = i18n.global.t('problems.token-expired') as string
  return { type: 'token-expired', title: 'Unauthorized', status: 401, detail }
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

function translateSlug(slug: string): string | null {
  const key = `problems.${slug}`
  return i18n.global.te(key) ? (i18n.global.t(key) as string) : null
}

async function toProblem(response: Response): Promise<Problem> {
  const text = await response.text()
  try {
    const body = JSON.parse(text)
    if (body && typeof body === 'object' && 'status' in body) return body as Problem
  } catch {
    // not JSON: a proxy's or the browser's error page
  }
  return {
    type: 'about:blank',
    title: response.statusText,
    status: response.status,
    detail: i18n.global.t('problems.http', { status: response.status }) as string,
  }
}

async function send(method: string, path: string, options: RequestOptions, retried = false): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  const signIn = path.endsWith(SESSION_PATH)
  if (!signIn && isExpiring(getToken(), RENEW_MARGIN_MS) && !(await renewSession())) {
    // Expired and not renewed: don't send what the API would refuse anyway.
    clearToken()
    onUnauthorized()
    const problem = expiredProblem()
    if (!options.silent) ElMessage.error({ message: problem.detail, grouping: true })
    throw new ApiError(401, problem, problem.detail)
  }
  const token = getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), { method, headers, body })
  } catch (err) {
    const problem: Problem = {
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      detail: i18n.global.t('problems.network') as string,
    }
    if (!options.silent) ElMessage.error(problem.detail)
    throw new ApiError(0, problem, String(err))
  }
  if (response.ok) return response
  const problem = await toProblem(response)
  const message = problemMessage(problem, i18n.global.locale.value, translateSlug)
  if (response.status === 401 && token && !signIn) {
    // An expired token is renewed and the request made again; any other refusal (a revoked
    // or forged token) goes straight to the login page.
    // (Another request may have renewed it meanwhile: then only the retry is left.)
    if (!retried && problemSlug(problem) === 'token-expired' && (getToken() !== token || (await renewSession()))) {
      return send(method, path, options, true)
    }
    clearToken()
    onUnauthorized()
  }
  if (!options.silent) ElMessage.error({ message, grouping: true })
  throw new ApiError(response.status, problem, message)
}

/** A JSON request; 204 gives undefined. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options)
  if (response.status === 204) return undefined as T
  const type = response.headers.get('content-type') ?? ''
  return (type.includes('json') ? await response.json() : await response.text()) as T
}

export const http = {
  get: <T>(path: string, query?: Query, options: RequestOptions = {}) => request<T>('GET', path, { ...options, query }),
  post: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('POST', path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('PUT', path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('PATCH', path, { ...options, body }),
  delete: <T>(path: string, options: RequestOptions = {}) => request<T>('DELETE', path, options),
}

/** Download a file the API streams (CSV), with the staff token, under `filename`. */
export async function download(path: string, filename: string, query?: Query): Promise<void> {
  const response = await send('GET', path, { query, headers: { Accept: 'text/csv, */*' } })
  const blob = await response.blob()
  const url = URL.createObjectURL(blob)
  const anchor = document.createElement('a')
  anchor.href = url
  anchor.download = filename
  document.body.appendChild(anchor)
  anchor.click()
  anchor.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/** A binary the API serves behind the staff token (an image), as an object URL the caller revokes. */
export async function fetchObjectUrl(path: string): Promise<string> {
  const response = await send('GET', path, { headers: { Accept: 'image/*' }, silent: true })
  return URL.createObjectURL(await response.blob())
}

/** A page of a cursor-paginated list. */
export interface Page<T> {
  items: T[]
  next_cursor: string | null
}
