// The segment language (tagging's contract) and the builder's tree, with the two-way mapping.
//
// C := {"and": [C…]} | {"or": [C…]} | {"not": C} | {"tag": id}
//    | {"attr": name, "op": op, "value": v} | {"fact": name, series_id?, period_id?, within_days?, "op": op, "value": n}
//    | {"segment": id}

export type AttrName = 'follows_oa' | 'has_phone' | 'first_channel' | 'member_since'
export type AttrOp = 'eq' | 'in' | 'gte' | 'lte'
export type FactName =
  | 'registered'
  | 'paid'
  | 'checkins'
  | 'in_group'
  | 'quiz_answers'
  | 'quiz_error_rate'
  | 'active_days'
export type FactOp = 'gte' | 'gt' | 'lte' | 'lt' | 'eq'

export const ATTRS: AttrName[] = ['follows_oa', 'has_phone', 'first_channel', 'member_since']
export const FACTS: FactName[] = ['registered', 'paid', 'checkins', 'in_group', 'quiz_answers', 'quiz_error_rate', 'active_days']
export const FACT_OPS: FactOp[] = ['gte', 'gt', 'eq', 'lte', 'lt']

export type Condition =
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition }
  | { tag: number }
  | { attr: AttrName; op: AttrOp; value: unknown }
  | { fact: FactName; op: FactOp; value: number; series_id?: number; period_id?: number; within_days?: number }
  | { segment: number }

export interface Rank {
  fact: FactName
  order: 'desc' | 'asc'
  series_id?: number
  period_id?: number
  within_days?: number
}

export interface GroupNode {
  kind: 'group'
  op: 'and' | 'or'
  negate: boolean
  children: BuilderNode[]
}
export interface TagNode {
  kind: 'tag'
  negate: boolean
  tagId: number | null
}
export interface AttrNode {
  kind: 'attr'
  negate: boolean
  attr: AttrName
  op: AttrOp
  value: string | number | boolean | string[] | null
}
export interface FactNode {
  kind: 'fact'
  negate: boolean
  fact: FactName
  op: FactOp
  value: number | null
  seriesId: number | null
  periodId: number | null
  withinDays: number | null
}
export interface SegmentRefNode {
  kind: 'segment'
  negate: boolean
  segmentId: number | null
}
export type BuilderNode = GroupNode | TagNode | AttrNode | FactNode | SegmentRefNode

export function emptyGroup(op: 'and' | 'or' = 'and'): GroupNode {
  return { kind: 'group', op, negate: false, children: [] }
}

export function newLeaf(kind: BuilderNode['kind']): BuilderNode {
  switch (kind) {
    case 'group':
      return emptyGroup()
    case 'tag':
      return { kind: 'tag', negate: false, tagId: null }
    case 'attr':
      return { kind: 'attr', negate: false, attr: 'follows_oa', op: 'eq', value: true }
    case 'fact':
      return { kind: 'fact', negate: false, fact: 'checkins', op: 'gte', value: 1, seriesId: null, periodId: null, withinDays: null }
    case 'segment':
      return { kind: 'segment', negate: false, segmentId: null }
  }
}

/** A problem with the tree, as an i18n key and the path of the node ("0.2.1"). */
export interface BuilderIssue {
  path: string
  key: string
}

/** Everything that keeps the tree from being a valid definition (empty list: valid). */
export function validate(node: BuilderNode, path = 'root'): BuilderIssue[] {
  switch (node.kind) {
    case 'group':
      if (node.children.length === 0) return [{ path, key: 'segments.issues.emptyGroup' }]
      return node.children.flatMap((child, i) => validate(child, `${path}.${i}`))
    case 'tag':
      return node.tagId ? [] : [{ path, key: 'segments.issues.tagMissing' }]
    case 'segment':
      return node.segmentId ? [] : [{ path, key: 'segments.issues.segmentMissing' }]
    case 'attr':
      if (node.value === null || node.value === '' || (Array.isArray(node.value) && node.value.length === 0)) {
        return [{ path, key: 'segments.issues.valueMissing' }]
      }
      return []
    case 'fact':
      if (node.value === null || Number.isNaN(node.value)) return [{ path, key: 'segments.issues.valueMissing' }]
      return []
  }
}

function wrap(negate: boolean, condition: Condition): Condition {
  return negate ? { not: condition } : condition
}

/** The builder's tree as the segment language (call validate first). */
export function serialise(node: BuilderNode): Condition {
  switch (node.kind) {
    case 'group': {
      const children = node.children.map(serialise)
      // One child needs no and/or around it.
      const inner: Condition = children.length === 1 ? children[0] : node.op === 'and' ? { and: children } : { or: children }
      return wrap(node.negate, inner)
    }
    case 'tag':
      return wrap(node.negate, { tag: node.tagId as number })
    case 'segment':
      return wrap(node.negate, { segment: node.segmentId as number })
    case 'attr':
      return wrap(node.negate, { attr: node.attr, op: node.op, value: node.value })
    case 'fact': {
      const fact: Condition = { fact: node.fact, op: node.op, value: node.value as number }
      if (node.seriesId) fact.series_id = node.seriesId
      if (node.periodId) fact.period_id = node.periodId
      if (node.withinDays) fact.within_days = node.withinDays
      return wrap(node.negate, fact)
    }
  }
}

/** A definition back into the builder's tree (a saved segment opened for editing). */
export function parse(condition: Condition): BuilderNode {
  if ('not' in condition) {
    const inner = parse(condition.not)
    if (inner.negate) {
      // not(not(x)) is x inside a group so that the double negation survives a round trip.
      return { kind: 'group', op: 'and', negate: true, children: [inner] }
    }
    return { ...inner, negate: true }
  }
  if ('and' in condition) return { kind: 'group', op: 'and', negate: false, children: condition.and.map(parse) }
  if ('or' in condition) return { kind: 'group', op: 'or', negate: false, children: condition.or.map(parse) }
  if ('tag' in condition) return { kind: 'tag', negate: false, tagId: condition.tag }
  if ('segment' in condition) return { kind: 'segment', negate: false, segmentId: condition.segment }
  if ('attr' in condition) {
    return { kind: 'attr', negate: false, attr: condition.attr, op: condition.op, value: condition.value as AttrNode['value'] }
  }
  return {
    kind: 'fact',
    negate: false,
    fact: condition.fact,
    op: condition.op,
    value: condition.value,
    seriesId: condition.series_id ?? null,
    periodId: condition.period_id ?? null,
    withinDays: condition.within_days ?? null,
  }
}

/** The root is always a group in the builder, even when the definition is a single condition. */
export function parseRoot(condition: Condition | null | undefined): GroupNode {
  if (!condition) return emptyGroup()
  const node = parse(condition)
  return node.kind === 'group' ? node : { kind: 'group', op: 'and', negate: false, children: [node] }
}
