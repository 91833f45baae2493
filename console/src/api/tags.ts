import { http, type Page } from './http'

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
