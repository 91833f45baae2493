// The chunks of the page a document is opened on, fetched while the entry loads. Vite preloads
// only the entry's static imports; a route's chunks (its layout, its page, the figures below it)
// were asked for once the entry had run and the router had started, so the CPU waited for them
// after the entry's work (~280 ms idle in a cold dashboard load). The lists are per route, in a
// <meta> each, read by public/route-preload.js (a static file: the script-src policy allows no
// inline script).
import type { Plugin } from 'vite'

interface OutputChunkLike {
  type: 'chunk'
  fileName: string
  facadeModuleId: string | null
  imports: string[]
  isEntry: boolean
  viteMetadata?: { importedCss: Set<string> }
}

export interface RoutePreload {
  /** the document's paths (the app's base included, no trailing slash) */
  paths: string[]
  /** source files (from the project root) whose chunks the route loads */
  modules: string[]
  /** only when a staff token is in sessionStorage (a signed-out visit is sent to the login page) */
  signedIn: boolean
}

/** The files a chunk needs: itself, what it imports statically, and their CSS. */
function closure(bundle: Record<string, unknown>, start: string[], into: Set<string>): void {
  for (const fileName of start) {
    const chunk = bundle[fileName] as OutputChunkLike | undefined
    if (!chunk || chunk.type !== 'chunk' || into.has(fileName)) continue
    into.add(fileName)
    for (const css of chunk.viteMetadata?.importedCss ?? []) into.add(css)
    closure(bundle, chunk.imports, into)
  }
}

export function routePreload(routes: RoutePreload[]): Plugin {
  let base = '/'
  return {
    name: 'qunyun:route-preload',
    apply: 'build',
    configResolved(config) {
      base = config.base
    },
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle as Record<string, unknown> | undefined
        if (!bundle) return html
        const chunks = Object.values(bundle).filter((c): c is OutputChunkLike => (c as OutputChunkLike).type === 'chunk')
        // What the entry loads already (Vite's own modulepreload links and stylesheets).
        const initial = new Set<string>()
        closure(bundle, chunks.filter((c) => c.isEntry).map((c) => c.fileName), initial)
        const lists = routes.map((route) => {
          const files = new Set<string>()
          for (const module of route.modules) {
            const chunk = chunks.find((c) => c.facadeModuleId?.replaceAll('\\', '/').endsWith(`/${module}`))
            if (!chunk) throw new Error(`route-preload: no chunk for ${module}`)
            closure(bundle, [chunk.fileName], files)
          }
          const wanted = [...files].filter((f) => !initial.has(f)).map((f) => `${base}${f}`)
          return `<meta name="qunyun-preload" data-paths="${route.paths.join(' ')}" data-signed-in="${route.signedIn}" content="${wanted.join(' ')}">`
        })
        // First in the document (after the charset): the script is asked for before the entry's files and
        // runs as soon as it is here (async, no imports), so the route's files queue right behind the entry's
        // instead of after its run. The lists come before it: they are parsed by the time it runs.
        const script = `<script type="module" async fetchpriority="high" src="${base}route-preload.js"></script>`
        const charset = /<meta charset="[^"]*"\s*\/?>/i
        if (!charset.test(html)) throw new Error('route-preload: index.html has no <meta charset>')
        return html.replace(charset, (tag) => [tag, ...lists, script].join('\n    '))
      },
    },
  }
}
