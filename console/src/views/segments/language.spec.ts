import { describe, expect, it } from 'vitest'
import { emptyGroup, newLeaf, parse, parseRoot, serialise, validate, type Condition, type GroupNode } from './language'

describe('segment builder serialisation', () => {
  it('writes an and-group of a tag and a fact', () => {
    const root: GroupNode = {
      kind: 'group',
      op: 'and',
      negate: false,
      children: [
        { kind: 'tag', negate: false, tagId: 7 },
        { kind: 'fact', negate: false, fact: 'quiz_error_rate', op: 'gt', value: 0.3, seriesId: 2, periodId: null, withinDays: 30 },
      ],
    }
    expect(serialise(root)).toEqual({
      and: [{ tag: 7 }, { fact: 'quiz_error_rate', op: 'gt', value: 0.3, series_id: 2, within_days: 30 }],
    })
  })

  it('drops the group around a single child and writes negation as not', () => {
    const root: GroupNode = { kind: 'group', op: 'or', negate: false, children: [{ kind: 'tag', negate: true, tagId: 3 }] }
    expect(serialise(root)).toEqual({ not: { tag: 3 } })
  })

  it('nests or inside and, and a negated group', () => {
    const root: GroupNode = {
      kind: 'group',
      op: 'and',
      negate: false,
      children: [
        { kind: 'attr', negate: false, attr: 'follows_oa', op: 'eq', value: true },
        {
          kind: 'group',
          op: 'or',
          negate: true,
          children: [
            { kind: 'segment', negate: false, segmentId: 4 },
            { kind: 'tag', negate: false, tagId: 9 },
          ],
        },
      ],
    }
    expect(serialise(root)).toEqual({
      and: [{ attr: 'follows_oa', op: 'eq', value: true }, { not: { or: [{ segment: 4 }, { tag: 9 }] } }],
    })
  })

  it('round-trips definitions through the builder tree', () => {
    const definitions: Condition[] = [
      { and: [{ tag: 1 }, { not: { tag: 2 } }] },
      { or: [{ fact: 'checkins', op: 'gte', value: 5, period_id: 11 }, { attr: 'has_phone', op: 'eq', value: true }] },
      { not: { and: [{ segment: 3 }, { attr: 'first_channel', op: 'in', value: ['a', 'b'] }] } },
      { not: { not: { tag: 5 } } },
    ]
    for (const definition of definitions) {
      expect(serialise(parse(definition))).toEqual(definition)
    }
  })

  it('wraps a single condition in a root group', () => {
    const root = parseRoot({ tag: 8 })
    expect(root.kind).toBe('group')
    expect(root.children).toHaveLength(1)
    expect(serialise(root)).toEqual({ tag: 8 })
  })

  it('reports empty groups and missing values with their paths', () => {
    const root = emptyGroup()
    expect(validate(root)).toEqual([{ path: 'root', key: 'segments.issues.emptyGroup' }])
    root.children.push(newLeaf('tag'), newLeaf('fact'), emptyGroup('or'))
    expect(validate(root).map((i) => `${i.path}:${i.key}`)).toEqual([
      'root.0:segments.issues.tagMissing',
      'root.2:segments.issues.emptyGroup',
    ])
  })
})
