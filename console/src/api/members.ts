import { http, type Page } from './http'

export interface MemberSummary {
  member_no: number
  member_no_display: string
  unionid: string | null
  apps: string[]
  phone: string | null
  follows_service_account: boolean
  created_at: string
}

export interface MemberDetail {
  member_no: number
  member_no_display: string
  requested_member_no: number
  unionid: string | null
  first_app: string
  channel_scene: string | null
  created_at: string
  openids: { app: string; appid: string; openid: string; linked_at: string }[]
  follows: { appid: string; openid: string; subscribed: boolean; subscribed_at: string | null; unsubscribed_at: string | null }[]
  phones: { number: string; masked: boolean; country_code: string; source: string; bound_at: string }[]
  merges: { from_member_no: number; into_member_no: number; reason: string; actor: string; merged_at: string }[]
  merge_candidates: { id: number; member_no: number; owner_member_no: number; phone_masked: string; status: string }[]
}

export interface MemberTag {
  member_no: number
  tag_id: number
  tag: string
  group_id: number
  kind: string
  source: string
  reason: string | null
  applied_at: string
  expires_at: string | null
}

export interface MemberTags {
  member_no: number
  items: MemberTag[]
  history: (MemberTag & { removed_at: string; removed_by: string })[]
}

export type NoteKind = 'call' | 'chat' | 'reminder' | 'note'
export const NOTE_KINDS: NoteKind[] = ['note', 'call', 'chat', 'reminder']

export interface Note {
  id: number
  member_no: number
  kind: NoteKind
  text: string
  author_staff_id: number
  author_name: string
  created_at: string
  updated_at: string | null
}

export interface Block {
  member_no: number
  blocked: boolean
  reason?: string | null
  by_staff_id?: number | null
  blocked_at?: string | null
}

/** GET /admin/v1/members?q= (number, phone, openid or UnionID) */
export const searchMembers = (q: string | undefined, cursor?: string | null, limit = 20) =>
  http.get<Page<MemberSummary>>('/admin/v1/members', { q, cursor, limit })

/** GET /admin/v1/members/{member_no} */
export const getMember = (memberNo: number) => http.get<MemberDetail>(`/admin/v1/members/${memberNo}`)

/** GET /admin/v1/members/{member_no}/tags */
export const getMemberTags = (memberNo: number) => http.get<MemberTags>(`/admin/v1/members/${memberNo}/tags`)

/** POST /admin/v1/members/{member_no}/tags */
export const addMemberTag = (memberNo: number, body: { tag_id: number; reason?: string | null }) =>
  http.post<MemberTag>(`/admin/v1/members/${memberNo}/tags`, body)

/** DELETE /admin/v1/members/{member_no}/tags/{tag_id} */
export const removeMemberTag = (memberNo: number, tagId: number) =>
  http.delete<void>(`/admin/v1/members/${memberNo}/tags/${tagId}`)

/** GET /admin/v1/members/{member_no}/notes */
export const listNotes = (memberNo: number, cursor?: string | null) =>
  http.get<Page<Note>>(`/admin/v1/members/${memberNo}/notes`, { cursor })

/** POST /admin/v1/members/{member_no}/notes */
export const addNote = (memberNo: number, body: { kind: NoteKind; text: string }) =>
  http.post<Note>(`/admin/v1/members/${memberNo}/notes`, body)

/** GET /admin/v1/members/{member_no}/timeline */
export const getTimeline = (memberNo: number, cursor?: string | null) =>
  http.get<Page<TimelineItem>>(`/admin/v1/members/${memberNo}/timeline`, { cursor }, { silent: true })

/** GET /admin/v1/blocklist/{member_no} */
export const getBlock = (memberNo: number) => http.get<Block>(`/admin/v1/blocklist/${memberNo}`)

/** PUT /admin/v1/blocklist/{member_no} */
export const blockMember = (memberNo: number, reason: string) =>
  http.put<Block>(`/admin/v1/blocklist/${memberNo}`, { reason })

/** DELETE /admin/v1/blocklist/{member_no} */
export const unblockMember = (memberNo: number) => http.delete<void>(`/admin/v1/blocklist/${memberNo}`)

export interface TimelineItem {
  at: string
  kind: string
  data: Record<string, unknown>
}

export interface Reach {
  member_no: number
  mp_openid: string | null
  oa_openid: string | null
  following: boolean
  blocked: boolean
  credits: { template_id: string; title: string | null; credits: number; long_term: boolean; accepted_total: number }[]
  windows: { interaction: string; opened_at: string; expires_at: string; open: boolean; remaining: number | null }[]
  custom_sends_remaining: number | null
  cap: { local_date: string; used: number; limit: number }
  quiet_hours_now: boolean
}

/** GET /admin/v1/members/{member_no}/reach: credits, customer-service window and today's cap. */
export const getReach = (memberNo: number) => http.get<Reach>(`/admin/v1/members/${memberNo}/reach`, undefined, { silent: true })

export interface MergeCandidate {
  id: number
  member_no: number
  owner_member_no: number
  phone_masked: string
  status: string
  created_at: string
}

/** GET /admin/v1/members/merge-candidates: open candidates, oldest first. */
export const listMergeCandidates = (cursor?: string | null, limit = 50) =>
  http.get<Page<MergeCandidate>>('/admin/v1/members/merge-candidates', { cursor, limit })

/** POST /admin/v1/members/merge-candidates/{id}/dismiss: not the same person. */
export const dismissMergeCandidate = (id: number) =>
  http.post<MergeCandidate>(`/admin/v1/members/merge-candidates/${id}/dismiss`)

/** POST /admin/v1/members/{member_no}/merge (admins): the older number survives. */
export const mergeMembers = (memberNo: number, body: { other_member_no: number; note?: string | null }) =>
  http.post<MemberDetail>(`/admin/v1/members/${memberNo}/merge`, body)
