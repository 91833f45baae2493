import { ApiError, buildUrl, http, type Page } from './http'
import { problemMessage, type Problem } from './problem'
import { i18n } from '@/locales'
import { getToken } from '@/utils/token'
import type { Condition } from '@/views/segments/language'

export interface TagGroup {
  id: number
  name: string
  description: string | null
  created_at: string
}

export interface Tag {
  id: number
  group_id: number
  name: string
  colour: string | null
  description: string | null
  kind: string
  members: number
  created_at: string
}

/** GET /admin/v1/tag-groups */
export const listTagGroups = () => http.get<TagGroup[]>('/admin/v1/tag-groups')

/** POST /admin/v1/tag-groups */
export const createTagGroup = (body: { name: string; description?: string | null }) =>
  http.post<TagGroup>('/admin/v1/tag-groups', body)

/** GET /admin/v1/tags */
export const listTags = (query: { group_id?: number | null; q?: string; cursor?: string | null; limit?: number } = {}) =>
  http.get<Page<Tag>>('/admin/v1/tags', query)

/** POST /admin/v1/tags */
export const createTag = (body: { group_id: number; name: string; colour?: string | null; description?: string | null }) =>
  http.post<Tag>('/admin/v1/tags', body)

/** PATCH /admin/v1/tags/{id} */
export const updateTag = (id: number, body: { name?: string; colour?: string | null; description?: string | null }) =>
  http.patch<Tag>(`/admin/v1/tags/${id}`, body)

/** DELETE /admin/v1/tags/{id} */
export const deleteTag = (id: number) => http.delete<void>(`/admin/v1/tags/${id}`)

export interface TagRule {
  id: number
  name: string
  condition: Condition
  action: 'apply' | 'remove'
  tag_id: number
  expires_in_days: number | null
  enabled: boolean
  version: number
  created_by: number
  created_at: string
  updated_at: string | null
}

export interface TagRuleCreate {
  name: string
  condition: Condition
  action: 'apply' | 'remove'
  tag_id: number
  expires_in_days: number | null
  enabled: boolean
}

export interface Backfill {
  rule_id: number
  rule_version: number
  state: 'pending' | 'running' | 'done' | 'failed'
  done: number
  total: number
  changed: number
  error: string | null
  started_at: string | null
  finished_at: string | null
}

/** GET /admin/v1/tag-rules */
export const listRules = (cursor?: string | null) => http.get<Page<TagRule>>('/admin/v1/tag-rules', { cursor })

/** POST /admin/v1/tag-rules (the back-fill starts on its own) */
export const createRule = (body: TagRuleCreate) => http.post<TagRule>('/admin/v1/tag-rules', body)

/** PUT /admin/v1/tag-rules/{id} */
export const replaceRule = (id: number, body: TagRuleCreate) => http.put<TagRule>(`/admin/v1/tag-rules/${id}`, body)

/** DELETE /admin/v1/tag-rules/{id} */
export const deleteRule = (id: number) => http.delete<void>(`/admin/v1/tag-rules/${id}`)

/** GET /admin/v1/tag-rules/{id}/backfill */
export const getBackfill = (id: number) => http.get<Backfill>(`/admin/v1/tag-rules/${id}/backfill`, undefined, { silent: true })

// -- CSV imports (tags and static segments) ---------------------------------------------------

export interface ImportRowError {
  row: number
  value: string
  message: string
}

/** What an import did, or on a dry run would do. */
export interface ImportResult {
  dry_run: boolean
  encoding: string
  rows: number
  valid: number
  already: number
  applied: number
  preview: number[]
  errors: ImportRowError[]
}

/** How far an upload is: the bytes sent, then the server's work (`processing`). */
export interface UploadProgress {
  phase: 'uploading' | 'processing'
  percent: number
}

/**
 * POST a CSV file as `text/csv` with the staff token, reporting upload progress (fetch cannot);
 * a problem answer rejects with the same ApiError the HTTP client throws (not shown: the import
 * dialog shows the problem and its per-row errors itself).
 */
export function uploadCsv<T>(path: string, file: Blob, onProgress?: (progress: UploadProgress) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', path)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('Content-Type', 'text/csv')
    const token = getToken()
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.({ phase: 'uploading', percent: Math.round((e.loaded / e.total) * 100) })
    }
    xhr.upload.onload = () => onProgress?.({ phase: 'processing', percent: 100 })
    xhr.onerror = () => {
      const problem: Problem = { type: 'about:blank', title: 'Network error', status: 0, detail: i18n.global.t('problems.network') as string }
      reject(new ApiError(0, problem, problem.detail))
    }
    xhr.onload = () => {
      let body: unknown = null
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = null
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body as T)
        return
      }
      const problem: Problem = body && typeof body === 'object' && 'status' in body
        ? (body as Problem)
        : { type: 'about:blank', title: xhr.statusText, status: xhr.status, detail: i18n.global.t('problems.http', { status: xhr.status }) as string }
      const slug = (s: string) => (i18n.global.te(`problems.${s}`) ? (i18n.global.t(`problems.${s}`) as string) : null)
      // The per-row errors are listed by the dialog; the message keeps to the detail.
      const message = problemMessage({ ...problem, errors: undefined }, i18n.global.locale.value, slug)
      reject(new ApiError(xhr.status, problem, message))
    }
    xhr.send(file)
  })
}

/** POST /admin/v1/tags/{id}/members/import?dry_run= */
export const importTagMembers = (tagId: number, file: Blob, dryRun: boolean, onProgress?: (p: UploadProgress) => void) =>
  uploadCsv<ImportResult>(buildUrl(`/admin/v1/tags/${tagId}/members/import`, { dry_run: dryRun }), file, onProgress)
