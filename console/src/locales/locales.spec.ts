// Both languages complete: every zh-CN message has an English one of the same shape, neither is
// empty, and both name the same placeholders (a {name} missing in one language renders raw).
import { describe, expect, it } from 'vitest'
import zh from './zh-CN'
import en from './en'

type Tree = { [key: string]: unknown }

/** Every leaf of a message tree, as [dotted path, value]. */
function leaves(tree: unknown, prefix = ''): [string, unknown][] {
  if (tree === null || typeof tree !== 'object') return [[prefix, tree]]
  return Object.entries(tree as Tree).flatMap(([key, value]) => leaves(value, prefix ? `${prefix}.${key}` : key))
}

// Names WeChat gives its own identifiers: the same word in both languages.
const PROPER_NAMES = new Set(['members.unionid'])

const placeholders = (message: string) => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('locales', () => {
  const zhLeaves = new Map(leaves(zh))
  const enLeaves = new Map(leaves(en))

  it('has an English message for every zh-CN key, and no English key without a zh-CN one', () => {
    expect([...zhLeaves.keys()].filter((key) => !enLeaves.has(key))).toEqual([])
    expect([...enLeaves.keys()].filter((key) => !zhLeaves.has(key))).toEqual([])
    expect(zhLeaves.size).toBeGreaterThan(300)
  })

  it('has no empty message in either language', () => {
    const empty = [...zhLeaves, ...enLeaves].filter(([, value]) => typeof value !== 'string' || value.trim() === '')
    expect(empty.map(([key]) => key)).toEqual([])
  })

  it('names the same placeholders in both languages', () => {
    const differing = [...zhLeaves]
      .filter(([key, value]) => typeof value === 'string' && typeof enLeaves.get(key) === 'string')
      .filter(([key, value]) => placeholders(value as string).join() !== placeholders(enLeaves.get(key) as string).join())
      .map(([key]) => key)
    expect(differing).toEqual([])
  })

  it('keeps the zh-CN text Chinese where English has words (nothing left untranslated)', () => {
    const untranslated = [...zhLeaves]
      .filter(([key, value]) => typeof value === 'string' && value === enLeaves.get(key) && /[a-z]{4,}/i.test(value))
      .filter(([key]) => !PROPER_NAMES.has(key))
      .map(([key]) => key)
    expect(untranslated).toEqual([])
  })
})
