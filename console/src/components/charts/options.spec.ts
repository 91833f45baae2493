import { describe, expect, it, vi } from 'vitest'
import { changeBadge, heatmapOption, renewalOption, toCsv, trendOption } from './options'

describe('trendOption', () => {
  it('puts every series on one sorted day axis with gaps for missing days', () => {
    const option = trendOption([
      { name: 'new', points: [{ x: '2026-11-02', y: 5 }, { x: '2026-11-01', y: 3 }] },
      { name: 'dau', points: [{ x: '2026-11-03', y: 9 }] },
    ]) as { xAxis: { data: string[] }; series: { name: string; data: (number | null)[] }[] }
    expect(option.xAxis.data).toEqual(['2026-11-01', '2026-11-02', '2026-11-03'])
    expect(option.series[0].data).toEqual([3, 5, null])
    expect(option.series[1].data).toEqual([null, null, 9])
  })
})

describe('renewalOption', () => {
  it('draws members and renewed as bars and the rate as a percentage line on the second axis', () => {
    const option = renewalOption(
      [
        { label: '第1期→第2期', members: 177, renewed: 60, rate: 60 / 177 },
        { label: '第2期→第3期', members: 72, renewed: 0, rate: null },
      ],
      { members: '报名', renewed: '续报', rate: '续报率' },
    ) as { xAxis: { data: string[] }; series: { type: string; yAxisIndex?: number; data: (number | null)[] }[] }
    expect(option.xAxis.data).toEqual(['第1期→第2期', '第2期→第3期'])
    expect(option.series.map((s) => s.type)).toEqual(['bar', 'bar', 'line'])
    expect(option.series[0].data).toEqual([177, 72])
    expect(option.series[1].data).toEqual([60, 0])
    expect(option.series[2].yAxisIndex).toBe(1)
    expect(option.series[2].data).toEqual([33.9, null])
  })
})

describe('heatmapOption', () => {
  it('maps cells to [hour, weekday, value] between min and max', () => {
    const option = heatmapOption(
      [{ weekday: 0, hour: 8, value: 4 }, { weekday: 6, hour: 21, value: 10 }],
      ['一', '二', '三', '四', '五', '六', '日'],
    ) as { visualMap: { min: number; max: number }; series: { data: number[][] }[]; xAxis: { data: string[] } }
    expect(option.xAxis.data).toHaveLength(24)
    expect(option.visualMap).toMatchObject({ min: 4, max: 10 })
    expect(option.series[0].data).toEqual([[8, 0, 4], [21, 6, 10]])
  })
})

describe('changeBadge', () => {
  it('words the change against the previous period', () => {
    expect(changeBadge(0.125)).toEqual({ text: '+12.5%', direction: 'up' })
    expect(changeBadge(-0.5)).toEqual({ text: '-50%', direction: 'down' })
    expect(changeBadge(0)).toEqual({ text: '0%', direction: 'flat' })
    expect(changeBadge(null)).toEqual({ text: '—', direction: 'none' })
  })
})

describe('toCsv', () => {
  it('writes a BOM, quotes what needs it and neutralises formula cells', () => {
    const csv = toCsv(['名称', 'n'], [['a,b', 1], ['=SUM(A1)', null]])
    expect(csv).toBe('\ufeff名称,n\r\n"a,b",1\r\n\'=SUM(A1),\r\n')
  })
})

describe('lifecycleOption', () => {
  it('stacks new, returning and resurrecting above zero and dormant below', async () => {
    const { lifecycleOption } = await import('./options')
    const option = lifecycleOption(
      [{ start: '2026-11-30', new: 5, returning: 3, resurrecting: 1, dormant: 4 }],
      { new: '新增', returning: '回访', resurrecting: '回流', dormant: '沉睡' },
    ) as { series: { name: string; stack: string; data: number[] }[] }
    expect(option.series.map((s) => [s.name, s.data[0]])).toEqual([['新增', 5], ['回访', 3], ['回流', 1], ['沉睡', -4]])
    expect(new Set(option.series.map((s) => s.stack))).toEqual(new Set(['lifecycle']))
  })
})

describe('retentionShade', () => {
  it('shades darker as the rate rises and leaves unknown cells blank', async () => {
    const { retentionShade } = await import('./options')
    expect(retentionShade(null)).toBeUndefined()
    expect(retentionShade(0)).toBe('rgba(64, 158, 255, 0.08)')
    expect(retentionShade(1)).toBe('rgba(64, 158, 255, 0.90)')
    expect(retentionShade(2)).toBe('rgba(64, 158, 255, 0.90)')
  })
})

const cohortLabels = {
  period: (n: number | null) => `#${n ?? '?'}`,
  otherPeriod: (s: number | null | undefined, n: number | null | undefined) => `S${s}#${n}`,
  channel: (scene: string | null | undefined) => `渠道 ${scene}`,
  unknown: '未知',
  stayed: (n: number | null) => `止于 #${n}`,
}

describe('cohortBarsOption', () => {
  it('stacks each period by part, the largest part first, zero where a period lacks it', async () => {
    const { cohortBarsOption } = await import('./options')
    const option = cohortBarsOption(
      [
        { period_id: 11, number: 1, registrants: 177, ended: true, parts: [{ key: 'period-11', kind: 'period', period_id: 11, series_id: 7, number: 1, members: 177 }] },
        {
          period_id: 12, number: 2, registrants: 72, ended: false, parts: [
            { key: 'period-11', kind: 'period', period_id: 11, series_id: 7, number: 1, members: 60 },
            { key: 'channel-3', kind: 'channel', scene: 'x2-poster', members: 12 },
          ],
        },
      ],
      7,
      cohortLabels,
    ) as { xAxis: { data: string[] }; series: { name: string; stack: string; data: number[] }[] }
    expect(option.xAxis.data).toEqual(['#1', '#2'])
    expect(option.series.map((s) => [s.name, s.data])).toEqual([['#1', [177, 60]], ['渠道 x2-poster', [0, 12]]])
    expect(new Set(option.series.map((s) => s.stack))).toEqual(new Set(['cohort']))
  })

  it('names a period of another series apart from this series', async () => {
    const { cohortPartLabel } = await import('./options')
    expect(cohortPartLabel({ key: 'period-5', kind: 'period', period_id: 5, series_id: 2, number: 4, members: 1 }, 7, cohortLabels)).toBe('S2#4')
    expect(cohortPartLabel({ key: 'unknown', kind: 'unknown', members: 1 }, 7, cohortLabels)).toBe('未知')
  })
})

describe('cohortSankeyOption', () => {
  it('flows forward from period to period and ends the rest in a stayed node (never a cycle)', async () => {
    const { cohortSankeyOption } = await import('./options')
    const option = cohortSankeyOption(
      [
        {
          period_id: 11, number: 1, registrants: 177, ended: true, parts: [
            { key: 'period-11', kind: 'period', period_id: 11, series_id: 7, number: 1, members: 117 },
            { key: 'period-12', kind: 'period', period_id: 12, series_id: 7, number: 2, members: 60 },
          ],
        },
        {
          period_id: 12, number: 2, registrants: 72, ended: true, parts: [
            { key: 'period-11', kind: 'period', period_id: 11, series_id: 7, number: 1, members: 2 },
            { key: 'period-40', kind: 'period', period_id: 40, series_id: 9, number: 1, members: 5 },
          ],
        },
      ],
      7,
      cohortLabels,
    ) as { series: { type: string; data: { name: string }[]; links: { source: string; target: string; value: number }[] }[] }
    const [sankey] = option.series
    expect(sankey.type).toBe('sankey')
    expect(sankey.links).toEqual([
      { source: '#1', target: '止于 #1', value: 117 },
      { source: '#1', target: '#2', value: 60 },
      { source: '#2', target: '止于 #2', value: 2 },
      { source: '#2', target: 'S9#1', value: 5 },
    ])
    expect(sankey.data.map((n) => n.name).sort()).toEqual(['#1', '#2', 'S9#1', '止于 #1', '止于 #2'].sort())
  })
})

describe('funnelOption', () => {
  it('draws the steps top-down, each labelled with its count and its conversion from the first step', async () => {
    const { funnelOption } = await import('./options')
    const toLocale = vi.spyOn(Number.prototype, 'toLocaleString')
    const option = funnelOption(
      [
        { name: 'scanned', members: 1200, conversion: 1, drop_off: null },
        { name: 'paid', members: 300, conversion: 0.25, drop_off: 0.75 },
        { name: 'renewed', members: 0, conversion: null, drop_off: 1 },
      ],
      (n) => ({ scanned: '扫码', paid: '付费', renewed: '续报' })[n] ?? n,
      'x2-poster',
    ) as { yAxis: { inverse: boolean; data: string[] }; series: { name: string; data: { value: number; label: { formatter: string } }[] }[] }
    expect(option.series[0].name).toBe('x2-poster')
    expect(option.yAxis).toMatchObject({ inverse: true, data: ['扫码', '付费', '续报'] })
    expect(option.series[0].data.map((d) => d.value)).toEqual([1200, 300, 0])
    expect(option.series[0].data.map((d) => d.label.formatter)).toEqual(['1,200 · 100%', '300 · 25%', '0 · —'])
    // Not with toLocaleString: its first call sets up ICU's number formats in the dashboard's first render.
    expect(toLocale).not.toHaveBeenCalled()
    toLocale.mockRestore()
  })
})

describe('dwellOption and hasData', () => {
  it('rounds seconds to a tenth and leaves a bucket without activity as a gap', async () => {
    const { dwellOption, hasData } = await import('./options')
    const option = dwellOption([{ start: '2026-11-30', seconds: 61.26 }, { start: '2026-12-01', seconds: null }], '停留')
    expect((option.series as { data: (number | null)[] }[])[0].data).toEqual([61.3, null])
    expect(hasData(option)).toBe(true)
    expect(hasData(dwellOption([{ start: '2026-12-01', seconds: null }], '停留'))).toBe(false)
  })

  it('finds no data in a Sankey without links or bars of zeros', async () => {
    const { cohortSankeyOption, funnelOption, hasData } = await import('./options')
    expect(hasData(cohortSankeyOption([], 1, cohortLabels))).toBe(false)
    expect(hasData(funnelOption([{ name: 'scanned', members: 0, conversion: null, drop_off: null }], (n) => n))).toBe(false)
  })
})
