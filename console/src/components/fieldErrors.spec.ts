import { describe, expect, it } from 'vitest'
import { fieldKey, fieldMessages } from './fieldErrors'

describe('field errors of a problem', () => {
  it('drops the body. prefix pydantic puts on request fields', () => {
    expect(fieldKey('body.name')).toBe('name')
    expect(fieldKey('channels.0.fields.thing1')).toBe('channels.0.fields.thing1')
  })

  it('keeps the first message of each field', () => {
    expect(
      fieldMessages([
        { field: 'channels.0.fields.thing1', message: 'not mapped', code: 'missing' },
        { field: 'body.name', message: 'too long' },
        { field: 'name', message: 'second' },
      ]),
    ).toEqual({ 'channels.0.fields.thing1': 'not mapped', name: 'too long' })
  })

  it('is empty without errors', () => {
    expect(fieldMessages(undefined)).toEqual({})
  })
})
