import { createRouter, createWebHistory } from 'vue-router'
import { routes } from './routes'
import { useAuthStore } from '@/stores/auth'
import { setUnauthorizedHandler } from '@/api/http'
import { i18n } from '@/locales'

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes,
  scrollBehavior: () => ({ top: 0 }),
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
    for (const record of to.matched) {
      const component = record.components?.default
      // A function here is a lazy route's chunk loader (every page is one; the router calls it again, the module is cached).
      if (typeof component === 'function') void Promise.resolve().then(component as () => unknown).catch(() => undefined)
    }
    to.meta.firstWave?.(to.query)
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
