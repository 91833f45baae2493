// Which charts have drawn their data, and what they drew: a performance mark per chart (the
// dashboard's readiness and bench/console read them) and, on window.__qunyunCharts, the series
// the chart itself holds (ECharts' getOption(), not our input), so journeys read a chart's data.

export interface DrawnChart {
  /** ms since the page's time origin */
  at: number
  xAxis: unknown[]
  yAxis: unknown[]
  series: { name?: unknown; type?: unknown; stack?: unknown; data?: unknown; links?: unknown }[]
}

type Listener = (name: string) => void
const listeners = new Set<Listener>()

declare global {
  interface Window {
    __qunyunCharts?: Record<string, DrawnChart>
  }
}

const axisData = (axes: unknown): unknown[] =>
  (Array.isArray(axes) ? axes : axes ? [axes] : []).map((a) => (a as { data?: unknown }).data ?? null)

/** Record that chart `name` drew `option` (as ECharts holds it). */
export function chartDrawn(name: string, option: Record<string, unknown>): void {
  const series = (Array.isArray(option.series) ? option.series : []) as Record<string, unknown>[]
  const drawn: DrawnChart = {
    at: performance.now(),
    xAxis: axisData(option.xAxis),
    yAxis: axisData(option.yAxis),
    series: series.map((s) => ({ name: s.name, type: s.type, stack: s.stack, data: s.data, links: s.links })),
  }
  window.__qunyunCharts = { ...(window.__qunyunCharts ?? {}), [name]: drawn }
  performance.mark(`qunyun:chart:${name}`)
  for (const listener of listeners) listener(name)
}

/** Be told whenever a chart has drawn (returns the unsubscribe). */
export function onChartDrawn(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
