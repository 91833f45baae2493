import { createRouter, createWebHistory } from 'vue-router'
import { routes } from './routes'
import { RENEW_AHEAD_MS, useAuthStore } from '@/stores/auth'
import { isExpiring } from '@/utils/token'
import { setUnauthorizedHandler } from '@/api/http'
import { i18n } from '@/locales'

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes,
  // Not on the page's first navigation: the page is at the top already, and scrolling there forced a layout mid-render.
  scrollBehavior: (_to, from) => (from.matched.length ? { top: 0 } : false),
})

// Where a navigation in progress is going: a token refused while its guard runs returns there after login.
let navigatingTo: string | null = null

router.beforeEach(async (to) => {
  navigatingTo = to.fullPath
  const auth = useAuthStore()
  if (to.meta.public) return true
  if (!auth.token) return { name: 'login', query: { redirect: to.fullPath } }
  // Not after the profile below: the page's chunks (its layout's too) and first requests go out with it
  // (the API checks the token anyway); the router would only ask for the chunks once every guard is done.
  if (to.name !== router.currentRoute.value.name) {
    // The page's own requests first: the browser fetches a few at a time, in the order asked.
    to.meta.firstWave?.(to.query)
    for (const record of to.matched) {
      const component = record.components?.default
      // A function here is a lazy route's chunk loader (every page is one; the router calls it again, the module is cached).
      if (typeof component === 'function') void Promise.resolve().then(component as () => unknown).catch(() => undefined)
    }
  }
  if (!auth.me && auth.role && !isExpiring(auth.token, RENEW_AHEAD_MS)) {
    // A live token names its role: the page does not wait for the profile, which follows (a token
    // the API refuses meanwhile goes through the HTTP client's renewal or back to login).
    void auth.loadMe().catch(() => undefined)
    return true
  }
  try {
    await auth.loadMe()
  } catch {
    return { name: 'login', query: { redirect: to.fullPath } }
  }
  return true
})

router.afterEach((to) => {
  navigatingTo = null
  const title = to.meta.title ? i18n.global.t(to.meta.title) : ''
  document.title = title ? `${title} · ${i18n.global.t('app.title')}` : i18n.global.t('app.title')
})

// A refused token (expired, revoked) sends the user to the login page, back here afterwards.
setUnauthorizedHandler(() => {
  const auth = useAuthStore()
  auth.logout()
  const current = router.currentRoute.value
  const redirect = navigatingTo && !navigatingTo.startsWith('/login') ? navigatingTo : current.fullPath
  if (current.name !== 'login') void router.replace({ name: 'login', query: { redirect } })
})
