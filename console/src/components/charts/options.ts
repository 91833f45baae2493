// Pure ECharts option builders: data in, option out (unit-tested; no DOM, no ECharts import).

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
