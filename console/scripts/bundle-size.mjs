// Initial JS + CSS (gzip) of the login and dashboard routes, from the Vite manifest of the last build.
// A route's initial set: the entry chunk, the route's chunks (layout + page), and everything they import
// statically, with their CSS, and what index.html has the browser preload on the route (plugins/routePreload.ts)
// with the script that does it. Usage: npm run size (after npm run build). Exits 1 above the budget.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const DIST = new URL('../dist/', import.meta.url).pathname
const BUDGET_KB = 600
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8'))
const ROUTES = {
  login: ['src/views/login/index.vue'],
  dashboard: ['src/layout/BasicLayout.vue', 'src/views/dashboard/index.vue'],
}

function collect(key, files) {
  const chunk = manifest[key]
  if (!chunk || files.has(chunk.file)) return
  files.add(chunk.file)
  for (const css of chunk.css ?? []) files.add(css)
  for (const imported of chunk.imports ?? []) collect(imported, files)
}

const html = readFileSync(join(DIST, 'index.html'), 'utf8')
function preloaded(route, files) {
  for (const [, paths, content] of html.matchAll(/<meta name="qunyun-preload" data-paths="([^"]*)"[^>]* content="([^"]*)"/g)) {
    if (paths.split(' ').includes(`/console/${route}`)) for (const f of content.split(' ')) if (f) files.add(f.replace(/^\/console\//, ''))
  }
  for (const [, script] of html.matchAll(/<script [^>]*src="\/console\/([^"]+)"/g)) if (!script.startsWith('assets/')) files.add(script)
}

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry)
let failed = false
for (const [route, keys] of Object.entries(ROUTES)) {
  const files = new Set()
  collect(entry, files)
  for (const key of keys) collect(key, files)
  preloaded(route, files)
  let js = 0
  let css = 0
  for (const file of files) {
    const size = gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length
    if (file.endsWith('.css')) css += size
    else js += size
  }
  const total = (js + css) / 1024
  failed ||= total > BUDGET_KB
  console.log(`${route.padEnd(10)} ${files.size} files  JS ${(js / 1024).toFixed(1)} KB  CSS ${(css / 1024).toFixed(1)} KB  total ${total.toFixed(1)} KB gzip (budget ${BUDGET_KB} KB)`)
}
process.exit(failed ? 1 : 0)
