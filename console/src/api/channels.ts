import { http, type Page } from './http'

export interface Channel {
  id: number
  code: string
  name: string
  qr_kind: 'permanent' | 'temporary'
  qr_ticket: string | null
  qr_url: string | null
  qr_image_url: string | null
  qr_expires_at: string | null
  qr_expired: boolean
  mp_page: string
  created_at: string
}

export interface ChannelStats {
  channel_id: number
  code: string
  name: string
  scans: number
  follows: number
  launches: number
  members: number
  registrations: number
  payments: number
  paid_fen: number
}

export interface ChannelCreate {
  name: string
  code?: string | null
  qr_kind: 'permanent' | 'temporary'
  expire_seconds?: number | null
  mp_page: string
}

/** GET /admin/v1/channels */
export const listChannels = (cursor?: string | null, limit = 20) =>
  http.get<Page<Channel>>('/admin/v1/channels', { cursor, limit })

/** GET /admin/v1/channels/stats (the same order and cursors as the list) */
export const listChannelStats = (cursor?: string | null, limit = 20) =>
  http.get<Page<ChannelStats>>('/admin/v1/channels/stats', { cursor, limit })

/** POST /admin/v1/channels: the QR and mini-program codes are created at WeChat right away. */
export const createChannel = (body: ChannelCreate) => http.post<Channel>('/admin/v1/channels', body)

/** GET /admin/v1/channels/{id}/wxacode.png */
export const wxacodePath = (id: number) => `/admin/v1/channels/${id}/wxacode.png`
