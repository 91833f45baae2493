import { ref, shallowRef } from 'vue'
import type { Page } from '@/api/http'

/** A cursor-paginated list with loading and error state (for list pages). */
export function useCursorList<T>(fetchPage: (cursor: string | null) => Promise<Page<T>>) {
  const items = shallowRef<T[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const page = ref(1)
  const nextCursor = ref<string | null>(null)
  const cursors: (string | null)[] = [null]

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const result = await fetchPage(cursors[page.value - 1] ?? null)
      items.value = result.items
      nextCursor.value = result.next_cursor
    } catch (err) {
      items.value = []
      error.value = err instanceof Error ? err.message : String(err)
    } finally {
      loading.value = false
    }
  }

  function reset(): Promise<void> {
    page.value = 1
    cursors.length = 1
    return load()
  }

  function next(): Promise<void> {
    if (!nextCursor.value) return Promise.resolve()
    cursors[page.value] = nextCursor.value
    page.value += 1
    return load()
  }

  function prev(): Promise<void> {
    if (page.value <= 1) return Promise.resolve()
    page.value -= 1
    return load()
  }

  return { items, loading, error, page, nextCursor, load, reset, next, prev }
}
