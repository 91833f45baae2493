// One figure of the dashboard: load, reload when its parameters change, and the card's state.
import { ref, shallowRef, watch, type Ref, type ShallowRef, type WatchSource } from 'vue'
import { settle, type FigureName } from './readiness'

export type FigureState = 'loading' | 'ready' | 'empty' | 'error'

export interface Figure<T> {
  data: ShallowRef<T | null>
  state: Ref<FigureState>
  error: Ref<string | null>
  reload: () => Promise<void>
}

export interface FigureOptions<T> {
  /** an answer that is the card's empty state (null always is) */
  isEmpty?: (data: T) => boolean
  /** a figure drawn as a table (no chart) is drawn when its data is there */
  settleWhenReady?: boolean
  /** not loaded (the card stays loading) until this is true, e.g. until the series are known */
  enabled?: () => boolean
}

/**
 * Load `load()` whenever `source` changes (and at once). A stale answer (parameters changed
 * meanwhile) is dropped.
 */
export function useFigure<T>(
  name: FigureName,
  source: WatchSource<unknown>,
  load: () => Promise<T | null>,
  { isEmpty = () => false, settleWhenReady = false, enabled = () => true }: FigureOptions<T> = {},
): Figure<T> {
  const data = shallowRef<T | null>(null)
  const state = ref<FigureState>('loading')
  const error = ref<string | null>(null)
  let generation = 0

  async function reload(): Promise<void> {
    const mine = ++generation
    state.value = 'loading'
    error.value = null
    if (!enabled()) return
    try {
      const answer = await load()
      if (mine !== generation) return
      data.value = answer
      state.value = answer === null || isEmpty(answer) ? 'empty' : 'ready'
      if (state.value === 'empty') settle(name, 'empty')
      else if (settleWhenReady) settle(name, 'drawn')
    } catch (err) {
      if (mine !== generation) return
      data.value = null
      error.value = err instanceof Error ? err.message : String(err)
      state.value = 'error'
      settle(name, 'error')
    }
  }

  watch(source, () => void reload(), { immediate: true, deep: true })
  return { data, state, error, reload }
}
