import type { ChannelConfig } from '@/api/messaging'

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The data names a purpose's channels use as `{name}`, in first-use order. */
export function placeholdersOf(channels: ChannelConfig[]): string[] {
  const names: string[] = []
  for (const channel of channels) {
    const patterns = [...Object.values(channel.fields ?? {}), channel.text ?? '']
    for (const pattern of patterns) {
      for (const match of pattern.matchAll(PLACEHOLDER)) {
        if (!names.includes(match[1])) names.push(match[1])
      }
    }
  }
  return names
}

/** A send's data from the form's rows: blank names dropped, numbers kept as text (the templates type them). */
export function dataOf(rows: { key: string; value: string }[]): Record<string, string> {
  const data: Record<string, string> = {}
  for (const row of rows) {
    const key = row.key.trim()
    if (key) data[key] = row.value
  }
  return data
}
