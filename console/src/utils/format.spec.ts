// Counts and money as the dashboard shows them.
import { describe, expect, it, vi } from 'vitest'
import { formatCount, formatDateTime, formatPercent, formatYuan } from './format'

describe('formatCount', () => {
  it('groups thousands as toLocaleString does for zh-CN and en', () => {
    for (const n of [0, 7, 999, 1000, 12345, 1000000, 987654321, -1234, -1234567]) {
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'))
      expect(formatCount(n)).toBe(n.toLocaleString('zh-CN'))
    }
  })
  it('writes averages as toLocaleString does, without calling it (ICU set-up in the first render)', () => {
    const toLocale = vi.spyOn(Number.prototype, 'toLocaleString')
    const expected = [0.5, 12.1, 1234.5678, 98765.4321, -1234.56, 0.0004, 1000000.25].map((n) => [n, toLocale.call(n, 'en-US')])
    toLocale.mockClear()
    for (const [n, text] of expected) expect(formatCount(n as number)).toBe(text)
    expect(toLocale).not.toHaveBeenCalled()
    toLocale.mockRestore()
  })
  it('shows nothing as a dash', () => {
    expect(formatCount(null)).toBe('—')
    expect(formatCount(undefined)).toBe('—')
  })
})

describe('the other formats', () => {
  it('reads Shanghai time, yuan and percentages', () => {
    expect(formatDateTime('2026-12-01T10:30:00Z')).toBe('2026-12-01 18:30')
    expect(formatDateTime(null)).toBe('—')
    expect(formatYuan(9900)).toBe('99.00')
    expect(formatPercent(0.125)).toBe('12.5%')
  })
})
