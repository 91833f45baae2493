// The dashboard's first wave. The router starts it as a navigation to the dashboard begins
// (before the staff profile, the view's chunk and the figures' chunks have arrived): every
// figure's request and every figure's chunk at once, so no request waits on a chunk, a mount
// or another request. The figures then take their answer from here instead of asking again.
//
// The one request that needs another is the series figures' (renewal, cohorts): they follow
// the latest series. The series chosen last (the URL's ?series=, else the one remembered in
// this browser) is asked for in the same wave; without one, they follow the series list at
// once, inside this module, not after the card's chunk and mount.
import type { LocationQuery } from 'vue-router'
import dayjs from 'dayjs'
import { listSeries, type Series } from '@/api/campaigns'
import { ApiError, type Page } from '@/api/http'
import {
  getChannels, getCohorts, getDwell, getHeatmap, getLifecycle, getOverview, getRenewal, getRetention, type CohortView, type Window,
} from '@/api/metrics'

export type Granularity = 'day' | 'week' | 'month'
export const RETENTION_INTERVALS = 8
const DAY = /^\d{4}-\d{2}-\d{2}$/
const SERIES_KEY = 'qunyun.dashboard.series'
/** an answer not taken by then is dropped (the view was never shown, or was left) */
const KEEP_MS = 30_000

const queryDay = (value: unknown) => (typeof value === 'string' && DAY.test(value) && dayjs(value).isValid() ? value : null)

/** The range and granularity of a dashboard URL (the last 30 days by day when it has none). */
export function windowFromQuery(query: LocationQuery): Required<Window> {
  const from = queryDay(query.from)
  const to = queryDay(query.to)
  const [start, end] = from && to
    ? [from, to]
    : [dayjs().subtract(29, 'day').format('YYYY-MM-DD'), dayjs().format('YYYY-MM-DD')]
  const granularity = ['day', 'week', 'month'].includes(query.granularity as string) ? (query.granularity as Granularity) : 'day'
  return { from: start, to: end, granularity }
}

/** The series the dashboard showed last: the URL's ?series=, else the one remembered here; null when neither. */
export function seriesHint(query: LocationQuery): number | null {
  return seriesId(query.series) ?? seriesId(readRemembered())
}

const seriesId = (raw: unknown): number | null => {
  const id = typeof raw === 'string' && /^\d{1,12}$/.test(raw) ? Number(raw) : NaN
  return Number.isSafeInteger(id) && id > 0 ? id : null
}

function readRemembered(): string | null {
  try {
    return localStorage.getItem(SERIES_KEY)
  } catch {
    return null
  }
}

/** Remember the series shown, for the next visit's first wave. */
export function rememberSeries(id: number | null): void {
  try {
    if (id) localStorage.setItem(SERIES_KEY, String(id))
    else localStorage.removeItem(SERIES_KEY)
  } catch {
    // storage refused (private mode): the next visit follows the series list
  }
}

/** The series the dashboard shows by default: the latest one. */
export const latestSeries = (series: Series[]): number | null => (series.length ? series[series.length - 1].id : null)

/** A series metrics has no figures for yet (nothing registered) answers 404: an empty card, not an error. */
export async function orEmpty<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
}

// Every figure's request, by what it asks: the first wave and the figures build the same keys.
export const load = {
  overview: (w: Window) => getOverview(w),
  channels: (w: Window) => getChannels(w),
  dwell: (w: Window) => getDwell(w),
  lifecycle: (w: Window) => getLifecycle(w),
  heatmap: (w: Window) => getHeatmap(w),
  retention: (w: Window) => getRetention(w, RETENTION_INTERVALS),
  series: () => listSeries(null, 100),
  renewal: (id: number) => orEmpty(getRenewal(id)),
  cohorts: (id: number, view: CohortView) => orEmpty(getCohorts(id, view)),
}

const windowKey = (w: Window) => `${w.from}|${w.to}|${w.granularity}`
export const keys = {
  window: (name: 'overview' | 'channels' | 'dwell' | 'lifecycle' | 'heatmap' | 'retention', w: Window) => `${name}:${windowKey(w)}`,
  series: () => 'series',
  renewal: (id: number) => `renewal:${id}`,
  cohorts: (id: number, view: CohortView) => `cohorts:${id}:${view}`,
}

const waiting = new Map<string, { at: number; answer: Promise<unknown> }>()

function put(key: string, answer: Promise<unknown>): void {
  answer.catch(() => undefined) // taken later (or never): not an unhandled rejection meanwhile
  waiting.set(key, { at: performance.now(), answer })
}

/** The first wave's answer for `key` if it is there (once), else `request()` now. */
export function take<T>(key: string, request: () => Promise<T>): Promise<T> {
  const entry = waiting.get(key)
  waiting.delete(key)
  if (entry && performance.now() - entry.at < KEEP_MS) return entry.answer as Promise<T>
  return request()
}

/** Drop what nobody took (the dashboard was left). */
export function dropFirstWave(): void {
  waiting.clear()
}

// The figures' chunks, shared with the view's defineAsyncComponent so one download serves both.
export const chunks = {
  view: () => import('./index.vue'),
  campaign: () => import('./CampaignFigures.vue'),
  funnel: () => import('./ChannelFunnel.vue'),
  activity: () => import('./ActivityFigures.vue'),
}

/** Start everything the dashboard at `query` will need, at once. */
export function startFirstWave(query: LocationQuery): void {
  waiting.clear()
  const w = windowFromQuery(query)
  // The series list first: the series figures' requests wait for its answer, and Chromium sends six
  // at a time per origin, so asked seventh it waited for a free connection behind the figures (and its
  // answer then for the main thread, busy drawing them).
  const series = load.series()
  put(keys.series(), series)
  for (const name of ['overview', 'channels', 'dwell', 'lifecycle', 'heatmap', 'retention'] as const) {
    put(keys.window(name, w), load[name](w))
  }
  const hint = seriesHint(query)
  const seriesFigures = (id: number) => {
    put(keys.renewal(id), load.renewal(id))
    put(keys.cohorts(id, 'origin'), load.cohorts(id, 'origin'))
  }
  if (hint) {
    seriesFigures(hint)
  } else {
    // Chained here, so the figures are asked for as soon as the list is known.
    series.then((page: Page<Series>) => {
      const id = latestSeries(page.items)
      if (id) seriesFigures(id)
    }, () => undefined)
  }
  // The chunks after the requests: Chromium fetches six at a time per origin (HTTP/1.1), in the order asked.
  for (const chunk of Object.values(chunks)) void chunk().catch(() => undefined) // the view reports a failed chunk itself
}
