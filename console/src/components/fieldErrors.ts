import type { FieldError } from '@/api/problem'

/** A problem's field path as a form names it: pydantic's `body.` prefix dropped. */
export function fieldKey(field: string): string {
  return field.startsWith('body.') ? field.slice(5) : field
}

/** The field messages of a problem by field path (the first message of a field wins). */
export function fieldMessages(errors: FieldError[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of errors ?? []) {
    const key = fieldKey(e.field)
    if (!(key in out)) out[key] = e.message
  }
  return out
}
