import { http } from './http'

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
