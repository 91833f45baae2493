// Pure ECharts option builders: data in, option out (unit-tested; no DOM, no ECharts import).
import { formatCount } from '@/utils/format'

export interface TrendSeries {
  name: string
  points: { x: string; y: number }[]
}

type Option = Record<string, unknown>

/** Lines over a shared x axis (days); a missing day of one series is a gap, not a zero. */
export function trendOption(series: TrendSeries[]): Option {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort()
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: series.map((s) => s.name), top: 0 },
    grid: { left: 48, right: 24, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: xs, boundaryGap: false },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) => {
      const byX = new Map(s.points.map((p) => [p.x, p.y]))
      return { name: s.name, type: 'line', smooth: true, showSymbol: xs.length <= 31, data: xs.map((x) => byX.get(x) ?? null) }
    }),
  }
}

export interface RenewalBar {
  label: string
  members: number
  renewed: number
  rate: number | null
}

export interface RenewalLabels {
  members: string
  renewed: string
  rate: string
}

/** Registrants per period as bars, renewal rate (0–1) as a line on a percentage axis. */
export function renewalOption(rows: RenewalBar[], labels: RenewalLabels): Option {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [labels.members, labels.renewed, labels.rate], top: 0 },
    grid: { left: 48, right: 56, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: rows.map((r) => r.label) },
    yAxis: [
      { type: 'value', minInterval: 1 },
      { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    ],
    series: [
      { name: labels.members, type: 'bar', data: rows.map((r) => r.members) },
      { name: labels.renewed, type: 'bar', data: rows.map((r) => r.renewed) },
      {
        name: labels.rate,
        type: 'line',
        yAxisIndex: 1,
        data: rows.map((r) => (r.rate === null ? null : Math.round(r.rate * 1000) / 10)),
      },
    ],
  }
}

/** Hour × weekday heatmap: rows are weekdays (Mon first), columns hours 0–23. */
export function heatmapOption(cells: { weekday: number; hour: number; value: number }[], weekdays: string[]): Option {
  const values = cells.map((c) => c.value)
  const max = values.length ? Math.max(...values) : 0
  const min = values.length ? Math.min(...values) : 0
  return {
    tooltip: { position: 'top' },
    grid: { left: 56, right: 24, top: 16, bottom: 64 },
    xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, h) => String(h)), splitArea: { show: true } },
    yAxis: { type: 'category', data: weekdays, splitArea: { show: true } },
    visualMap: { min, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ type: 'heatmap', data: cells.map((c) => [c.hour, c.weekday, c.value]) }],
  }
}

/** The change against the previous period (环比) as text and a direction. */
export function changeBadge(change: number | null): { text: string; direction: 'up' | 'down' | 'flat' | 'none' } {
  if (change === null || Number.isNaN(change)) return { text: '—', direction: 'none' }
  const percent = Math.round(change * 1000) / 10
  if (percent === 0) return { text: '0%', direction: 'flat' }
  return { text: `${percent > 0 ? '+' : ''}${percent}%`, direction: percent > 0 ? 'up' : 'down' }
}

/** CSV text of a chart's data (header row first), for the download button under every chart. */
export function toCsv(header: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return ''
    let s = String(v)
    if (/^[=+\-@]/.test(s) && typeof v === 'string') s = `'${s}`
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return '\ufeff' + [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n'
}

export interface LifecycleRow {
  start: string
  new: number
  returning: number
  resurrecting: number
  dormant: number
}

/** PostHog-style lifecycle: new, returning and resurrecting stacked above zero, dormant below. */
export function lifecycleOption(rows: LifecycleRow[], labels: Record<'new' | 'returning' | 'resurrecting' | 'dormant', string>): Option {
  const bar = (key: keyof typeof labels, sign: 1 | -1) => ({
    name: labels[key],
    type: 'bar',
    stack: 'lifecycle',
    data: rows.map((r) => sign * r[key]),
  })
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [labels.new, labels.returning, labels.resurrecting, labels.dormant], top: 0 },
    grid: { left: 48, right: 24, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: rows.map((r) => r.start) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [bar('new', 1), bar('returning', 1), bar('resurrecting', 1), bar('dormant', -1)],
  }
}

/** Background of a retention cell: darker as the rate rises (0–1); none for an unknown rate. */
export function retentionShade(rate: number | null): string | undefined {
  if (rate === null || Number.isNaN(rate)) return undefined
  const clamped = Math.max(0, Math.min(1, rate))
  return `rgba(64, 158, 255, ${(0.08 + clamped * 0.82).toFixed(2)})`
}

export interface CohortPartRow {
  key: string
  kind: 'period' | 'channel' | 'unknown'
  period_id?: number | null
  series_id?: number | null
  number?: number | null
  scene?: string | null
  members: number
}

export interface CohortPeriodRow {
  period_id: number
  number: number | null
  registrants: number
  ended: boolean
  parts: CohortPartRow[]
}

export interface CohortLabels {
  /** "#3" for a period of this series */
  period: (number: number | null) => string
  /** a period of another series */
  otherPeriod: (seriesId: number | null | undefined, number: number | null | undefined) => string
  channel: (scene: string | null | undefined) => string
  unknown: string
  /** the Sankey's node for members whose last campaign is the period itself */
  stayed: (number: number | null) => string
}

/** The label of one slice of a period's registrants. */
export function cohortPartLabel(part: CohortPartRow, seriesId: number, labels: CohortLabels): string {
  if (part.kind === 'channel') return labels.channel(part.scene)
  if (part.kind === 'unknown') return labels.unknown
  if (part.series_id !== undefined && part.series_id !== null && part.series_id !== seriesId) {
    return labels.otherPeriod(part.series_id, part.number)
  }
  return labels.period(part.number ?? null)
}

/** Origin or source: one stacked bar per period, one stack segment per part (largest parts first). */
export function cohortBarsOption(periods: CohortPeriodRow[], seriesId: number, labels: CohortLabels): Option {
  const totals = new Map<string, number>()
  for (const p of periods) {
    for (const part of p.parts) {
      const name = cohortPartLabel(part, seriesId, labels)
      totals.set(name, (totals.get(name) ?? 0) + part.members)
    }
  }
  const names = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([n]) => n)
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { type: 'scroll', data: names, top: 0 },
    grid: { left: 48, right: 24, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: periods.map((p) => labels.period(p.number)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: names.map((name) => ({
      name,
      type: 'bar',
      stack: 'cohort',
      emphasis: { focus: 'series' },
      data: periods.map((p) =>
        p.parts.filter((part) => cohortPartLabel(part, seriesId, labels) === name).reduce((n, part) => n + part.members, 0),
      ),
    })),
  }
}

/**
 * Destination as a Sankey from period to period: each ended period's registrants flow to the
 * period of their last campaign. Flows only go forward (a later period of the series, or another
 * series); members whose last campaign is the period itself end in a "stayed" node, so the graph
 * never has a cycle (ECharts refuses one).
 */
export function cohortSankeyOption(periods: CohortPeriodRow[], seriesId: number, labels: CohortLabels): Option {
  const position = new Map(periods.map((p, i) => [p.period_id, i]))
  const nodes = new Set<string>()
  const links = new Map<string, { source: string; target: string; value: number }>()
  periods.forEach((p, i) => {
    const source = labels.period(p.number)
    for (const part of p.parts) {
      if (part.members <= 0) continue
      let target: string
      const at = part.kind === 'period' && part.period_id != null ? position.get(part.period_id) : undefined
      if (at !== undefined && at <= i) target = labels.stayed(p.number)
      else target = cohortPartLabel(part, seriesId, labels)
      nodes.add(source)
      nodes.add(target)
      const key = `${source}\u0000${target}`
      const link = links.get(key) ?? { source, target, value: 0 }
      link.value += part.members
      links.set(key, link)
    }
  })
  return {
    tooltip: { trigger: 'item', triggerOn: 'mousemove' },
    series: [
      {
        type: 'sankey',
        left: 16,
        right: 96,
        top: 16,
        bottom: 16,
        emphasis: { focus: 'adjacency' },
        nodeAlign: 'left',
        data: [...nodes].map((name) => ({ name })),
        links: [...links.values()],
        lineStyle: { color: 'gradient', curveness: 0.5 },
      },
    ],
  }
}

export interface FunnelStepRow {
  name: string
  members: number
  conversion: number | null
  drop_off: number | null
}

/** One channel's funnel as horizontal bars, first step on top, each labelled with its count and conversion. */
export function funnelOption(steps: FunnelStepRow[], stepLabel: (name: string) => string, channel = ''): Option {
  const percent = (r: number | null) => (r === null ? '—' : `${Math.round(r * 1000) / 10}%`)
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 72, right: 96, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', inverse: true, data: steps.map((s) => stepLabel(s.name)) },
    series: [
      {
        name: channel,
        type: 'bar',
        data: steps.map((s) => ({
          value: s.members,
          label: { show: true, position: 'right', formatter: `${formatCount(s.members)} · ${percent(s.conversion)}` },
        })),
      },
    ],
  }
}

/** Dwell: average seconds per active member per day, one point per bucket (a bucket without activity is a gap). */
export function dwellOption(points: { start: string; seconds: number | null }[], name: string): Option {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [name], top: 0 },
    grid: { left: 48, right: 24, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: points.map((p) => p.start), boundaryGap: false },
    yAxis: { type: 'value', axisLabel: { formatter: '{value}s' } },
    series: [
      {
        name,
        type: 'line',
        smooth: true,
        connectNulls: false,
        showSymbol: points.length <= 31,
        data: points.map((p) => (p.seconds === null ? null : Math.round(p.seconds * 10) / 10)),
      },
    ],
  }
}

/** Whether an option built above has anything to draw (an empty card shows its empty state instead). */
export function hasData(option: Option): boolean {
  const series = (option.series ?? []) as { data?: unknown[]; links?: unknown[] }[]
  return series.some((s) => (s.links ?? s.data ?? []).some((v) => {
    const value = v !== null && typeof v === 'object' && 'value' in v ? (v as { value: unknown }).value : v
    if (Array.isArray(value)) return value.length > 0
    return value !== null && value !== undefined && value !== 0
  }))
}
