// Chart containers measured together: every chart waiting to start reads its size in one
// animation frame (one layout for all), then starts with that size, so ECharts never reads the
// DOM while charts are being added (each read after another chart's insertion was a forced layout).

type Measured = (width: number, height: number) => void
const waiting = new Map<HTMLElement, Measured>()
let scheduled = false

function flush(): void {
  scheduled = false
  const batch = [...waiting]
  waiting.clear()
  const sizes = batch.map(([el]) => [el.clientWidth, el.clientHeight] as const) // reads first, all of them
  batch.forEach(([, done], i) => done(sizes[i][0], sizes[i][1]))
}

/** Measure `el` in the next animation frame, with every other chart asking before then. */
export function measureChart(el: HTMLElement, done: Measured): () => void {
  waiting.set(el, done)
  if (!scheduled) {
    scheduled = true
    requestAnimationFrame(flush)
  }
  return () => void waiting.delete(el)
}
