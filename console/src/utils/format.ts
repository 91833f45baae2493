// Dates and money as operators read them: Asia/Shanghai time, yuan with two decimals.
export const TIME_ZONE = 'Asia/Shanghai'

// Made on first use: a formatter with a time zone loads its zone data (about 0.1 s of a busy
// dashboard's first render, which shows no date-time at all).
let dateTime: Intl.DateTimeFormat | null = null
const shanghai = () =>
  (dateTime ??= new Intl.DateTimeFormat('zh-CN', {
    timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }))

/** "2026-12-01 18:30" in Shanghai time; "—" for nothing. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  const parts = Object.fromEntries(shanghai().formatToParts(date).map((p) => [p.type, p.value]))
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`
}

/** A count with thousands separators, "1,000,000", "1,234.568" (at most three decimals, as toLocaleString
 * writes them; not toLocaleString itself: its first call sets up ICU's number formats, a tenth of a second
 * on a busy machine, and the dashboard's cards have averages among their counts). */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (!Number.isFinite(value)) return String(value)
  const rounded = Math.round(Math.abs(value) * 1000) / 1000
  const whole = Math.trunc(rounded)
  const fraction = rounded - whole
  const digits = String(whole)
  let grouped = ''
  for (let i = 0; i < digits.length; i++) grouped += (i > 0 && (digits.length - i) % 3 === 0 ? ',' : '') + digits[i]
  if (fraction > 0) grouped += fraction.toFixed(3).slice(1).replace(/0+$/, '')
  return value < 0 ? `-${grouped}` : grouped
}

/** Fen as yuan, "99.00". */
export function formatYuan(fen: number | null | undefined): string {
  return fen === null || fen === undefined ? '—' : (fen / 100).toFixed(2)
}

/** A ratio as a percentage, "12.5%"; "—" when undefined. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  return ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(digits)}%`
}

/** A wall-clock time picked in Shanghai ("2026-12-01 18:30:00") as an ISO instant with +08:00. */
export function shanghaiIso(local: string): string {
  return `${local.replace(' ', 'T')}+08:00`
}
