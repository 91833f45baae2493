import { http, type Page } from './http'

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
