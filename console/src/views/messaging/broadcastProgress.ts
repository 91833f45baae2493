import type { Broadcast } from '@/api/messaging'

/** Percentage of a broadcast's recipients that are done (sent, fallen back, failed or undeliverable). */
export function broadcastPercent(b: Pick<Broadcast, 'total' | 'remaining' | 'state'>): number {
  if (b.state === 'finished') return 100
  if (!b.total) return 0
  return Math.max(0, Math.min(100, Math.floor(((b.total - b.remaining) / b.total) * 100)))
}

/** Whether the progress can still change (keep polling). */
export function broadcastLive(b: Pick<Broadcast, 'state'>): boolean {
  return b.state === 'running' || b.state === 'scheduled' || b.state === 'paused'
}
