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
export const getSettlement = (id: number) =>
  http.get<Record<string, unknown>>(`/admin/v1/periods/${id}/settlement`, undefined, { silent: true })

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

// -- registrations -----------------------------------------------------------------------------

export type RegistrationStatus = 'awaiting_payment' | 'confirmed' | 'cancelled' | 'expired' | string

export interface PeriodRegistration {
  id: number
  member_no: number
  /** the registration's state (pending payment, confirmed, cancelled…) */
  status: RegistrationStatus
  amount_fen: number
  channel_code?: string | null
  registered_at: string
  paid_at?: string | null
  refund?: { status: string; amount_fen: number } | null
  checkins: number
}

export interface RegistrationFilter {
  status?: string
  member_no?: number | null
}

/** GET /admin/v1/periods/{id}/registrations */
export const listRegistrations = (periodId: number, filter: RegistrationFilter, cursor?: string | null, limit = 20) =>
  http.get<Page<PeriodRegistration>>(`/admin/v1/periods/${periodId}/registrations`, { ...filter, cursor, limit })

/** GET /admin/v1/periods/{id}/registrations?format=csv */
export const downloadRegistrations = (periodId: number, filter: RegistrationFilter) =>
  download(`/admin/v1/periods/${periodId}/registrations`, `registrations-${periodId}.csv`, { ...filter, format: 'csv' })

export interface CalendarDay {
  date: string
  /** done, late, voided, missed, today or upcoming */
  status: string
  checkin_id?: number | null
}

/** A member's registration with the period's check-in calendar and its refund state. */
export interface MemberRegistration {
  registration: { id: number; period_id: number; state: string; fee_fen: number; created_at: string; order?: { state?: string; paid_at?: string | null } | null }
  period_title: string
  series_id: number
  period_number: number
  period_state: string
  start_date: string
  end_date: string
  calendar: CalendarDay[]
  checked_days: number
  planned_days: number
  rate_percent: number
  refund_now_fen: number
  refund_state: string | null
  refund_amount_fen: number | null
}

/** GET /admin/v1/members/{member_no}/registrations (a list, or a page of one). */
export async function getMemberRegistrations(memberNo: number): Promise<MemberRegistration[]> {
  const body = await http.get<MemberRegistration[] | Page<MemberRegistration>>(
    `/admin/v1/members/${memberNo}/registrations`, undefined, { silent: true },
  )
  return Array.isArray(body) ? body : body.items
}

/** The check-in of a member on a date, looked up in the period's check-ins (for voiding from the calendar). */
export async function findCheckin(periodId: number, memberNo: number, localDate: string): Promise<Checkin | null> {
  let cursor: string | null = null
  // A period's check-ins are paged by id; 25 pages of 200 cover any period the console shows.
  for (let i = 0; i < 25; i += 1) {
    const page: Page<Checkin> = await http.get<Page<Checkin>>(`/admin/v1/periods/${periodId}/checkins`, { cursor, limit: 200 })
    const hit = page.items.find((c) => c.member_no === memberNo && c.local_date === localDate)
    if (hit) return hit
    if (!page.next_cursor) return null
    cursor = page.next_cursor
  }
  return null
}

// -- referrals ---------------------------------------------------------------------------------

export interface Referral {
  invitee_member_no: number
  inviter_member_no: number
  invite_code: string
  registration_id: number
  period_id: number
  state: string
  created_at: string
  credited_at: string | null
}

export interface Inviter {
  inviter_member_no: number
  credited: number
  pending: number
}

/** GET /admin/v1/referrals */
export const listReferrals = (filter: { inviter?: number | null; invitee?: number | null }, cursor?: string | null, limit = 20) =>
  http.get<Page<Referral>>('/admin/v1/referrals', { ...filter, cursor, limit })

/** GET /admin/v1/referrals/inviters */
export const topInviters = (limit = 20) => http.get<Inviter[]>('/admin/v1/referrals/inviters', { limit })
