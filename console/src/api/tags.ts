import { http, type Page } from './http'
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
