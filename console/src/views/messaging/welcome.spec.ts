import { describe, expect, it } from 'vitest'
import { sceneOfWelcome, sceneSlug, welcomeName } from './welcome'

describe('follow welcome purposes', () => {
  it('slugs a scene as messaging does', () => {
    expect(sceneSlug(' Poster-2026 ')).toBe('poster_2026')
    expect(sceneSlug('x'.repeat(50))).toHaveLength(40)
  })

  it('names the default and a scene\'s welcome', () => {
    expect(welcomeName('')).toBe('follow.welcome')
    expect(welcomeName('Poster')).toBe('follow.welcome.poster')
  })

  it('reads the scene back, and nothing from other purposes', () => {
    expect(sceneOfWelcome('follow.welcome')).toBe('')
    expect(sceneOfWelcome('follow.welcome.poster')).toBe('poster')
    expect(sceneOfWelcome('follow.welcomed')).toBeNull()
    expect(sceneOfWelcome('campaign.reminder')).toBeNull()
  })
})
