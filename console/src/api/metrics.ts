import { download, http } from './http'

export interface Point {
  start: string
  value: number
}

export interface Metric {
  name: string
  total: number
  previous: number
  change: number | null
  series: Point[]
}

export interface Overview {
  members_total: number
  new_members: { day: string; value: number }[]
  follows: { day: string; value: number }[]
  date_from: string
  date_to: string
  granularity: string
  previous_from: string
  previous_to: string
  metrics: Metric[]
}

export interface RenewalStep {
  from_period_id: number
  from_number: number | null
  to_period_id: number
  to_number: number | null
  members: number
  renewed: number
  renewal_rate: number | null
  still_in_groups: number
}

export interface Renewal {
  series_id: number
  active_window_days: number
  steps: RenewalStep[]
}

export interface Window {
  from?: string
  to?: string
  granularity?: 'day' | 'week' | 'month'
}

/** GET /admin/v1/metrics/overview */
export const getOverview = (window: Window) =>
  http.get<Overview>('/admin/v1/metrics/overview', { ...window }, { silent: true })

/** GET /admin/v1/metrics/overview?format=csv */
export const downloadOverview = (window: Window) =>
  download('/admin/v1/metrics/overview', 'overview.csv', { ...window, format: 'csv' })

/** GET /admin/v1/metrics/series/{id}/renewal */
export const getRenewal = (seriesId: number) =>
  http.get<Renewal>(`/admin/v1/metrics/series/${seriesId}/renewal`, undefined, { silent: true })

/** GET /admin/v1/metrics/series/{id}/renewal?format=csv */
export const downloadRenewal = (seriesId: number) =>
  download(`/admin/v1/metrics/series/${seriesId}/renewal`, `renewal-${seriesId}.csv`, { format: 'csv' })

export interface Lifecycle {
  date_from: string
  date_to: string
  granularity: string
  buckets: { start: string; new: number; returning: number; resurrecting: number; dormant: number }[]
}

export interface Retention {
  intervals: number
  granularity: string
  cohorts: { cohort: string; size: number; active: number[]; rates: (number | null)[] }[]
}

export interface Heatmap {
  date_from: string
  date_to: string
  /** weekday 1 = Monday (Asia/Shanghai) */
  cells: { weekday: number; hour: number; events: number }[]
}

/** GET /admin/v1/metrics/lifecycle */
export const getLifecycle = (window: Window) => http.get<Lifecycle>('/admin/v1/metrics/lifecycle', { ...window }, { silent: true })

/** GET /admin/v1/metrics/retention */
export const getRetention = (window: Window, intervals = 8) =>
  http.get<Retention>('/admin/v1/metrics/retention', { ...window, intervals }, { silent: true })

/** GET /admin/v1/metrics/heatmap */
export const getHeatmap = (window: Window) => http.get<Heatmap>('/admin/v1/metrics/heatmap', { ...window }, { silent: true })

/** CSV of a windowed figure: the same endpoint with format=csv (and the same parameters). */
export const downloadFigure = (
  name: 'lifecycle' | 'retention' | 'heatmap' | 'dwell' | 'channels',
  window: Window,
  extra: Record<string, string | number> = {},
) => download(`/admin/v1/metrics/${name}`, `${name}.csv`, { ...window, ...extra, format: 'csv' })

export type CohortView = 'origin' | 'source' | 'destination'

export interface CohortPart {
  key: string
  kind: 'period' | 'channel' | 'unknown'
  period_id?: number | null
  series_id?: number | null
  number?: number | null
  channel_id?: number | null
  scene?: string | null
  members: number
}

export interface Cohorts {
  series_id: number
  view: CohortView
  periods: { period_id: number; number: number | null; registrants: number; ended: boolean; parts: CohortPart[] }[]
}

/** GET /admin/v1/metrics/series/{id}/cohorts */
export const getCohorts = (seriesId: number, view: CohortView) =>
  http.get<Cohorts>(`/admin/v1/metrics/series/${seriesId}/cohorts`, { view }, { silent: true })

/** GET /admin/v1/metrics/series/{id}/cohorts?format=csv */
export const downloadCohorts = (seriesId: number, view: CohortView) =>
  download(`/admin/v1/metrics/series/${seriesId}/cohorts`, `cohorts-${view}-${seriesId}.csv`, { view, format: 'csv' })

export type FunnelStepName = 'scanned' | 'followed' | 'registered' | 'paid' | 'completed' | 'renewed'

export interface Channels {
  date_from: string
  date_to: string
  channels: {
    channel_id: number
    scene: string
    steps: { name: FunnelStepName; members: number; conversion: number | null; drop_off: number | null }[]
  }[]
}

/** GET /admin/v1/metrics/channels */
export const getChannels = (window: Window) => http.get<Channels>('/admin/v1/metrics/channels', { ...window }, { silent: true })

export interface Dwell {
  date_from: string
  date_to: string
  granularity: string
  average_seconds: number | null
  previous_average_seconds: number | null
  change: number | null
  trend_seconds_per_day: number | null
  series: { start: string; seconds: number | null; member_days: number }[]
}

/** GET /admin/v1/metrics/dwell */
export const getDwell = (window: Window) => http.get<Dwell>('/admin/v1/metrics/dwell', { ...window }, { silent: true })
