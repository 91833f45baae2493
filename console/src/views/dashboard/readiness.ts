// When the dashboard is interactive: every figure has drawn its data, or shows its empty or
// error state. Marked with the Performance API (bench/console reads the measure) and kept on
// window.__qunyunDashboard for journeys.
import { onChartDrawn } from '@/components/charts/registry'

/** Every figure of the dashboard, by the chart name it draws under. */
export const FIGURES = [
  'trend', 'renewal', 'cohorts', 'funnel', 'dwell', 'lifecycle', 'heatmap', 'retention',
] as const
export type FigureName = (typeof FIGURES)[number]

export interface Readiness {
  /** ms since the time origin when the dashboard view began (0 when the page was loaded on it) */
  startedAt: number
  /** ms from startedAt until every figure had settled; null until then */
  interactiveAt: number | null
  /** when each figure settled, and how */
  figures: Partial<Record<FigureName, { at: number; state: 'drawn' | 'empty' | 'error' }>>
}

declare global {
  interface Window {
    __qunyunDashboard?: Readiness
  }
}

export const INTERACTIVE_MARK = 'qunyun:dashboard:interactive'
export const INTERACTIVE_MEASURE = 'qunyun:dashboard'

let current: Readiness | null = null
let firstView = true
let unsubscribe: (() => void) | null = null

/** Start waiting for every figure (a new page view of the dashboard). */
export function trackDashboard(): void {
  // Loaded on the dashboard: measured from the navigation start; reached from another page: from here.
  const loaded = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
  const loadedHere = firstView && !!loaded && new URL(loaded.name).pathname === location.pathname
  firstView = false
  current = { startedAt: loadedHere ? 0 : performance.now(), interactiveAt: null, figures: {} }
  window.__qunyunDashboard = current
  unsubscribe?.()
  unsubscribe = onChartDrawn((name) => settle(name as FigureName, 'drawn'))
}

let waiters: (() => void)[] = []

/** Resolves once the current dashboard view is interactive (never if it is left before). */
export function whenInteractive(): Promise<void> {
  if (current?.interactiveAt !== null && current?.interactiveAt !== undefined) return Promise.resolve()
  return new Promise((resolve) => waiters.push(resolve))
}

/** Stop waiting (the dashboard was left). */
export function untrackDashboard(): void {
  unsubscribe?.()
  unsubscribe = null
  current = null
  waiters = []
}

/** A figure has drawn its data, or shows that it has none or could not load. */
export function settle(name: FigureName, state: 'drawn' | 'empty' | 'error'): void {
  const readiness = current
  if (!readiness || !FIGURES.includes(name) || readiness.figures[name]) return
  readiness.figures[name] = { at: performance.now(), state }
  if (readiness.interactiveAt === null && FIGURES.every((f) => readiness.figures[f])) {
    performance.mark(INTERACTIVE_MARK)
    readiness.interactiveAt = performance.measure(INTERACTIVE_MEASURE, { start: readiness.startedAt, end: INTERACTIVE_MARK }).duration
    const resolved = waiters
    waiters = []
    for (const resolve of resolved) resolve()
  }
}
