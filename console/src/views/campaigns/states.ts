import type { PeriodState } from '@/api/campaigns'

/** The next state a staff member can move a period to, and its i18n label. */
export const NEXT_STATE: Partial<Record<PeriodState, { state: 'open' | 'running' | 'closed'; label: string }>> = {
  draft: { state: 'open', label: 'campaigns.open' },
  open: { state: 'running', label: 'campaigns.start' },
  running: { state: 'closed', label: 'campaigns.close' },
}

export const STATE_TAG: Record<PeriodState, 'info' | 'success' | 'primary' | 'warning' | 'danger'> = {
  draft: 'info',
  open: 'success',
  running: 'primary',
  closed: 'warning',
  settled: 'info',
}
