import { http, type Page } from './http'

export interface GroupCell {
  community_id: number
  name: string | null
  open_gid: string
  period_id: number | null
  members_seen: number
  period_members_seen: number
  last_activity_at: string | null
}

export interface PeriodMatrix {
  period_id: number
  number: number
  title: string
  state: string
  registrants: number
  groups: GroupCell[]
  seen_in: { community_id: number; name: string | null; registrants_seen: number }[]
}

export interface Matrix {
  series: { series_id: number; title: string; periods: PeriodMatrix[] }[]
  unlinked: GroupCell[]
}

/** GET /admin/v1/communities/matrix (optionally one series). */
export const getMatrix = (seriesId?: number | null) =>
  http.get<Matrix>('/admin/v1/communities/matrix', { series_id: seriesId })

export interface Community {
  id: number
  open_gid: string
  name: string | null
  period_id: number | null
  proposed_period_id: number | null
  linked_at: string | null
  first_seen_at: string
  last_seen_at: string
  members_seen: number
  periods: { period_id: number; linked_at?: string; unlinked_at?: string | null }[]
}

/** GET /admin/v1/communities */
export const listCommunities = (query: { period_id?: number | null; unlinked?: boolean; cursor?: string | null } = {}) =>
  http.get<Page<Community>>('/admin/v1/communities', query)

/** PATCH /admin/v1/communities/{id}: rename */
export const renameCommunity = (id: number, name: string) => http.patch<Community>(`/admin/v1/communities/${id}`, { name })

/** POST /admin/v1/communities/{id}/periods: link to one more period */
export const linkCommunity = (id: number, periodId: number) =>
  http.post<Community>(`/admin/v1/communities/${id}/periods`, { period_id: periodId })

/** DELETE /admin/v1/communities/{id}/periods/{period_id}: end a link */
export const unlinkCommunity = (id: number, periodId: number) =>
  http.delete<Community>(`/admin/v1/communities/${id}/periods/${periodId}`)

/** POST /admin/v1/communities/{id}/accept-proposal */
export const acceptProposal = (id: number) => http.post<Community>(`/admin/v1/communities/${id}/accept-proposal`)
