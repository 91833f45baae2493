import { describe, expect, it } from 'vitest'
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
