import { download, http, type Page } from './http'

export interface Series {
  id: number
  title: string
  description: string
  created_at: string
}

export type PeriodState = 'draft' | 'open' | 'running' | 'closed' | 'settled'

export interface Period {
  id: number
  series_id: number
  number: number
  title: string
  state: PeriodState
  registration_opens_at: string
  registration_closes_at: string
  start_date: string
  end_date: string
  timezone: string
  capacity: number
  taken: number
  fee_fen: number
  checkin_plan: Record<string, unknown>
  refund_rule: Record<string, unknown>
  opened_at: string | null
  closed_at: string | null
  settled_at: string | null
}

export interface PeriodCreate {
  title: string
  registration_opens_at: string
  registration_closes_at: string
  start_date: string
  end_date: string
  timezone?: string | null
  capacity: number
  fee_fen: number
}

export type PeriodUpdate = Partial<PeriodCreate>

/** GET /admin/v1/series */
export const listSeries = (cursor?: string | null, limit = 20) =>
  http.get<Page<Series>>('/admin/v1/series', { cursor, limit })

/** GET /admin/v1/series/{id} */
export const getSeries = (id: number) => http.get<Series>(`/admin/v1/series/${id}`)

/** POST /admin/v1/series */
export const createSeries = (body: { title: string; description: string }) =>
  http.post<Series>('/admin/v1/series', body)

/** PATCH /admin/v1/series/{id} */
export const updateSeries = (id: number, body: { title?: string; description?: string }) =>
  http.patch<Series>(`/admin/v1/series/${id}`, body)

/** GET /admin/v1/series/{id}/periods */
export const listPeriods = (seriesId: number) => http.get<Period[]>(`/admin/v1/series/${seriesId}/periods`)

/** POST /admin/v1/series/{id}/periods */
export const createPeriod = (seriesId: number, body: PeriodCreate) =>
  http.post<Period>(`/admin/v1/series/${seriesId}/periods`, body)

/** GET /admin/v1/periods/{id} */
export const getPeriod = (id: number) => http.get<Period>(`/admin/v1/periods/${id}`)

/** PATCH /admin/v1/periods/{id} */
export const updatePeriod = (id: number, body: PeriodUpdate) => http.patch<Period>(`/admin/v1/periods/${id}`, body)

/** POST /admin/v1/periods/{id}/state */
export const changePeriodState = (id: number, state: 'open' | 'running' | 'closed') =>
  http.post<Period>(`/admin/v1/periods/${id}/state`, { state })

/** GET /admin/v1/periods/{id}/settlement */
export const getSettlement = (id: number) => http.get<Record<string, unknown>>(`/admin/v1/periods/${id}/settlement`)

/** GET /admin/v1/periods/{id}/settlement.csv */
export const downloadSettlement = (id: number) => download(`/admin/v1/periods/${id}/settlement.csv`, `settlement-${id}.csv`)

/** POST /admin/v1/periods/{id}/refunds/retry */
export const retryRefunds = (id: number) => http.post<Record<string, unknown>>(`/admin/v1/periods/${id}/refunds/retry`)

export interface Checkin {
  id: number
  period_id: number
  member_no: number
  local_date: string
  text: string
  images: string[]
  late: boolean
  voided_at: string | null
  void_reason: string | null
  created_at: string
}

/** GET /admin/v1/periods/{id}/checkins */
export const listCheckins = (periodId: number, cursor?: string | null) =>
  http.get<Page<Checkin>>(`/admin/v1/periods/${periodId}/checkins`, { cursor })

/** POST /admin/v1/periods/{id}/checkins/{checkin_id}/void */
export const voidCheckin = (periodId: number, checkinId: number, reason: string) =>
  http.post<Checkin>(`/admin/v1/periods/${periodId}/checkins/${checkinId}/void`, { reason })
