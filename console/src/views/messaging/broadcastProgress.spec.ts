import { describe, expect, it } from 'vitest'
import { broadcastLive, broadcastPercent } from './broadcastProgress'

describe('broadcast progress', () => {
  it('counts what is no longer remaining, and a finished broadcast as 100 %', () => {
    expect(broadcastPercent({ total: 200, remaining: 150, state: 'running' })).toBe(25)
    expect(broadcastPercent({ total: 3, remaining: 1, state: 'running' })).toBe(66)
    expect(broadcastPercent({ total: 0, remaining: 0, state: 'running' })).toBe(0)
    expect(broadcastPercent({ total: 0, remaining: 0, state: 'finished' })).toBe(100)
  })

  it('keeps polling until the broadcast ends', () => {
    expect(broadcastLive({ state: 'running' })).toBe(true)
    expect(broadcastLive({ state: 'paused' })).toBe(true)
    expect(broadcastLive({ state: 'finished' })).toBe(false)
    expect(broadcastLive({ state: 'cancelled' })).toBe(false)
  })
})
