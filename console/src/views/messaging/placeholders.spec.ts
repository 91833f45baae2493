import { describe, expect, it } from 'vitest'
import { dataOf, placeholdersOf } from './placeholders'

describe('a purpose\'s placeholders', () => {
  it('lists the names of every channel once, in first-use order', () => {
    expect(
      placeholdersOf([
        { channel: 'subscribe', template_id: 't', fields: { thing1: '{title} 第{day}天', time2: '{when}' } },
        { channel: 'custom', fields: {}, text: '{title}：{url}' },
      ]),
    ).toEqual(['title', 'day', 'when', 'url'])
  })

  it('ignores text without placeholders and bad names', () => {
    expect(placeholdersOf([{ channel: 'custom', fields: {}, text: '你好 {1x} {}' }])).toEqual([])
  })
})

describe('a send\'s data', () => {
  it('drops rows without a name and trims names', () => {
    expect(dataOf([{ key: ' title ', value: '早读' }, { key: '', value: 'x' }])).toEqual({ title: '早读' })
  })
})
