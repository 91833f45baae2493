import { buildUrl, download, http, type Page } from './http'
import { uploadCsv, type ImportResult, type UploadProgress } from './tags'
import type { Condition, Rank } from '@/views/segments/language'

export interface SegmentMembers {
  count: number
  members: { member_no: number; rank_value: number | null }[]
  next_cursor: string | null
}

export interface Segment {
  id: number
  name: string
  description: string | null
  kind: string
  definition: Condition
  rank: Rank | null
  count: number
  created_by: number
  created_at: string
  updated_at: string | null
  frozen_at: string | null
}

/** POST /admin/v1/segments/preview: the live count and the first ranked members. */
export const previewSegment = (definition: Condition, rank: Rank | null, limit = 20) =>
  http.post<SegmentMembers>('/admin/v1/segments/preview', { definition, rank, limit }, { silent: true })

/** GET /admin/v1/segments */
export const listSegments = (cursor?: string | null) => http.get<Page<Segment>>('/admin/v1/segments', { cursor })

/** POST /admin/v1/segments */
export const createSegment = (body: { name: string; description?: string | null; definition: Condition; rank: Rank | null }) =>
  http.post<Segment>('/admin/v1/segments', body)

/** POST /admin/v1/segments/{id}/freeze */
export const freezeSegment = (id: number) => http.post<Segment>(`/admin/v1/segments/${id}/freeze`)

/** DELETE /admin/v1/segments/{id} */
export const deleteSegment = (id: number) => http.delete<void>(`/admin/v1/segments/${id}`)

/** GET /admin/v1/segments/{id}/export.csv */
export const exportSegment = (id: number) => download(`/admin/v1/segments/${id}/export.csv`, `segment-${id}.csv`)

/** POST /admin/v1/segments/{id}/import?dry_run=: the segment becomes a static list of the file's member numbers. */
export const importSegment = (id: number, file: Blob, dryRun: boolean, onProgress?: (p: UploadProgress) => void) =>
  uploadCsv<ImportResult>(buildUrl(`/admin/v1/segments/${id}/import`, { dry_run: dryRun }), file, onProgress)
