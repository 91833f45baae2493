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
export const getOverview = (window: Window) => http.get<Overview>('/admin/v1/metrics/overview', { ...window })

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

/** CSV of any figure: the same endpoint with format=csv. */
export const downloadFigure = (name: 'lifecycle' | 'retention' | 'heatmap', window: Window) =>
  download(`/admin/v1/metrics/${name}`, `${name}.csv`, { ...window, format: 'csv' })
