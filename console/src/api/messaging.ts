import { download, http, type Page } from './http'

export interface Template {
  id: number
  app: 'mp' | 'oa'
  template_id: string
  title: string
  content: string
  kind: 'one_time' | 'long_term' | 'template'
  fields: { key: string; type: string }[]
  synced_at: string
  removed_at: string | null
}

export type MessageStatus = 'queued' | 'held' | 'sending' | 'sent' | 'delivered' | 'failed' | 'undeliverable' | 'unknown'
export const MESSAGE_STATUSES: MessageStatus[] = ['queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'undeliverable', 'unknown']

export interface Message {
  id: number
  member_no: number
  purpose: string
  message_class: 'transactional' | 'marketing'
  status: MessageStatus
  channel: 'subscribe' | 'template' | 'custom' | null
  template_id: string | null
  reason: string | null
  reasons: string[]
  broadcast_id: number | null
  requested_at: string
  sent_at: string | null
  delivered_at: string | null
  delivery_status: string | null
}

/** GET /admin/v1/templates */
export const listTemplates = (app?: 'mp' | 'oa') => http.get<{ items: Template[] }>('/admin/v1/templates', { app })

/** POST /admin/v1/templates/sync */
export const syncTemplates = () => http.post<{ results: Record<string, unknown>[] }>('/admin/v1/templates/sync')

/** GET /admin/v1/messages: the delivery log, newest first. */
export const listMessages = (query: { member_no?: number | null; purpose?: string; status?: MessageStatus | ''; cursor?: string | null }) =>
  http.get<Page<Message>>('/admin/v1/messages', query)

export type ChannelKind = 'subscribe' | 'template' | 'custom'
export const CHANNEL_KINDS: ChannelKind[] = ['subscribe', 'template', 'custom']
/** The app whose templates a channel uses. */
export const APP_OF: Record<ChannelKind, 'mp' | 'oa'> = { subscribe: 'mp', template: 'oa', custom: 'oa' }

export interface ChannelConfig {
  channel: ChannelKind
  template_id?: string | null
  page?: string | null
  url?: string | null
  /** template field key → text with {name} placeholders from the send's data */
  fields: Record<string, string>
  /** custom: the customer-service message text */
  text?: string | null
}

export interface Purpose {
  id: number
  name: string
  description: string
  class: 'transactional' | 'marketing'
  channels: ChannelConfig[]
  daily_cap: number | null
  max_staleness_minutes: number | null
  enabled: boolean
  updated_at: string
}

export type PurposeUpdate = Omit<Purpose, 'id' | 'name' | 'updated_at'>
export type PurposeCreate = PurposeUpdate & { name: string }

export type BroadcastState = 'scheduled' | 'running' | 'paused' | 'cancelled' | 'finished'

export interface Broadcast {
  id: number
  purpose: string
  segment_id: number | null
  rate_per_second: number
  state: BroadcastState
  total: number
  send_at: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  sent: number
  fell_back: number
  failed: number
  unknown: number
  undeliverable: Record<string, number>
  remaining: number
}

export interface BroadcastCreate {
  segment_id?: number | null
  member_nos?: number[] | null
  purpose: string
  data: Record<string, unknown>
  rate_per_second: number
}

export interface Forecast {
  total: number
  by_channel: Record<string, number>
  undeliverable: Record<string, number>
}

/** GET /admin/v1/message-purposes */
export const listPurposes = () => http.get<{ items: Purpose[] }>('/admin/v1/message-purposes')

/** POST /admin/v1/broadcasts/preview: who each channel would reach; sends nothing. */
export const previewBroadcast = (body: BroadcastCreate) => http.post<Forecast>('/admin/v1/broadcasts/preview', body)

/** POST /admin/v1/broadcasts */
export const createBroadcast = (body: BroadcastCreate) => http.post<Broadcast>('/admin/v1/broadcasts', body)

/** GET /admin/v1/broadcasts/{id}: progress */
export const getBroadcast = (id: number) => http.get<Broadcast>(`/admin/v1/broadcasts/${id}`, undefined, { silent: true })

/** POST /admin/v1/broadcasts/{id}/{pause|resume|cancel} */
export const changeBroadcast = (id: number, action: 'pause' | 'resume' | 'cancel') =>
  http.post<Broadcast>(`/admin/v1/broadcasts/${id}/${action}`)

/** GET /admin/v1/broadcasts/{id}/report.csv */
export const downloadBroadcastReport = (id: number) =>
  download(`/admin/v1/broadcasts/${id}/report.csv`, `broadcast-${id}.csv`)

/** GET /admin/v1/message-purposes/{id} */
export const getPurpose = (id: number) => http.get<Purpose>(`/admin/v1/message-purposes/${id}`)

/** POST /admin/v1/message-purposes (the form also shows each field's problem beside it) */
export const createPurpose = (body: PurposeCreate) => http.post<Purpose>('/admin/v1/message-purposes', body)

/** PUT /admin/v1/message-purposes/{id}: class, channels and limits replaced; the name stays. */
export const replacePurpose = (id: number, body: PurposeUpdate) =>
  http.put<Purpose>(`/admin/v1/message-purposes/${id}`, body)

/** A fresh Idempotency-Key: one per attempt of the send form (a retry of the same attempt reuses it). */
export function newIdempotencyKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

export interface MessageCreate {
  member_no: number
  purpose: string
  data: Record<string, string | number>
  send_at?: string | null
}

/** POST /admin/v1/messages: write to one member; answers where the message ended. */
export const sendMessage = (body: MessageCreate, idempotencyKey: string) =>
  http.post<Message>('/admin/v1/messages', body, { headers: { 'Idempotency-Key': idempotencyKey }, silent: true })

export type AutoReplyMatch = 'exact' | 'contains'
export type AutoReplyApp = 'oa' | 'mp' | 'all'

export interface AutoReply {
  id: number
  keyword: string
  match: AutoReplyMatch
  app: AutoReplyApp
  reply: string
  enabled: boolean
}

export type AutoReplyCreate = Omit<AutoReply, 'id'>

/** GET /admin/v1/auto-replies */
export const listAutoReplies = () => http.get<{ items: AutoReply[] }>('/admin/v1/auto-replies')

/** POST /admin/v1/auto-replies */
export const createAutoReply = (body: AutoReplyCreate) => http.post<AutoReply>('/admin/v1/auto-replies', body)

/** PATCH /admin/v1/auto-replies/{id} */
export const updateAutoReply = (id: number, body: Partial<AutoReplyCreate>) =>
  http.patch<AutoReply>(`/admin/v1/auto-replies/${id}`, body)

/** DELETE /admin/v1/auto-replies/{id} */
export const deleteAutoReply = (id: number) => http.delete<void>(`/admin/v1/auto-replies/${id}`)
