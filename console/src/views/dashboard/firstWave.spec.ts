// The dashboard's first wave: every figure asked for at once, the series figures as soon as the
// series are known (or at once for a series chosen before), each answer taken once.
import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('element-plus', () => ({ ElMessage: { error: vi.fn() } }))
vi.mock('element-plus/es/components/message/style/css', () => ({}))
vi.mock('./index.vue', () => ({ default: {} }))
vi.mock('./CampaignFigures.vue', () => ({ default: {} }))
vi.mock('./ChannelFunnel.vue', () => ({ default: {} }))
vi.mock('./ActivityFigures.vue', () => ({ default: {} }))

const memory = () => {
  const store = new Map<string, string>()
  return {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
    removeItem: (k: string) => void store.delete(k),
    clear: () => store.clear(),
  }
}
const local = memory()
vi.stubGlobal('sessionStorage', memory())
vi.stubGlobal('localStorage', local)

const wave = await import('./firstWave')
const BASE = 'http://console.test'

let asked: string[]
let release: (() => void)[]
const series = [{ id: 3, title: 'a' }, { id: 7, title: 'b' }]

function answer(url: string): unknown {
  const path = new URL(url, BASE).pathname
  if (path === '/admin/v1/series') return { items: series, next_cursor: null }
  return { path }
}

beforeEach(() => {
  asked = []
  release = []
  local.clear()
  wave.dropFirstWave()
  // A network that answers only when told to: what is asked before any answer is one wave.
  vi.stubGlobal('fetch', vi.fn((url: string) => {
    asked.push(new URL(url, BASE).pathname + new URL(url, BASE).search)
    return new Promise<Response>((resolve) => {
      release.push(() => resolve(new Response(JSON.stringify(answer(url)), { status: 200, headers: { 'content-type': 'application/json' } })))
    })
  }))
})

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
  await new Promise((resolve) => setTimeout(resolve, 0))
}
const paths = () => asked.map((a) => a.split('?')[0]).sort()
const query = { from: '2026-09-01', to: '2026-11-29', granularity: 'day' }

describe('first wave', () => {
  it('asks for every windowed figure and the series list at once', async () => {
    wave.startFirstWave(query)
    await flush()
    expect(paths()).toEqual([
      '/admin/v1/metrics/channels', '/admin/v1/metrics/dwell', '/admin/v1/metrics/heatmap', '/admin/v1/metrics/lifecycle',
      '/admin/v1/metrics/overview', '/admin/v1/metrics/retention', '/admin/v1/series',
    ])
    expect(asked.find((a) => a.startsWith('/admin/v1/metrics/overview'))).toContain('from=2026-09-01')
  })

  it('asks for the series list first (the series figures wait for it; the browser sends six at a time)', async () => {
    wave.startFirstWave(query)
    await flush()
    expect(asked[0]).toMatch(/^\/admin\/v1\/series\?/)
  })

  it('asks for the latest series figures as soon as the series list answers, before any view does', async () => {
    wave.startFirstWave(query)
    await flush()
    const before = asked.length
    release.forEach((r) => r())
    await flush()
    expect(asked.slice(before).map((a) => a.split('?')[0]).sort()).toEqual([
      '/admin/v1/metrics/series/7/cohorts', '/admin/v1/metrics/series/7/renewal',
    ])
  })

  it('asks for a series chosen before in the same wave', async () => {
    wave.rememberSeries(3)
    wave.startFirstWave(query)
    await flush()
    expect(paths()).toContain('/admin/v1/metrics/series/3/renewal')
    expect(paths()).toContain('/admin/v1/metrics/series/3/cohorts')
    expect(wave.seriesHint({ series: '7' })).toBe(7)
    expect(wave.seriesHint({ series: 'x' })).toBe(3)
  })

  it('gives each answer once: the figure takes the wave\'s request, a reload asks again', async () => {
    wave.startFirstWave(query)
    await flush()
    const w = wave.windowFromQuery(query)
    const count = asked.length
    const first = wave.take(wave.keys.window('dwell', w), () => wave.load.dwell(w))
    await flush()
    expect(asked.length).toBe(count)
    release.forEach((r) => r())
    expect(await first).toEqual({ path: '/admin/v1/metrics/dwell' })
    void wave.take(wave.keys.window('dwell', w), () => wave.load.dwell(w))
    await flush()
    expect(asked.length).toBe(count + 1 + 2) // the reload, and the series figures the list led to
  })

  it('reads the range of the URL, or the last 30 days', () => {
    expect(wave.windowFromQuery(query)).toEqual({ from: '2026-09-01', to: '2026-11-29', granularity: 'day' })
    const fallback = wave.windowFromQuery({ from: '2026-13-01', granularity: 'year' })
    expect(fallback.granularity).toBe('day')
    expect(fallback.from < fallback.to).toBe(true)
  })
})
