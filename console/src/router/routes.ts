import type { LocationQuery, RouteRecordRaw } from 'vue-router'
import type { Role } from '@/api/staff'
import { chunks as dashboard, startFirstWave as dashboardFirstWave } from '@/views/dashboard/firstWave'

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the menu entry and page title */
    title?: string
    icon?: string
    /** roles that see the entry in the menu (all when absent) */
    roles?: Role[]
    /** not in the menu (details pages) */
    hidden?: boolean
    public?: boolean
    /** started as a navigation to the page begins (signed in): its chunks and first requests at once */
    firstWave?: (query: LocationQuery) => void
  }
}

// Every page is its own chunk: the login and dashboard routes load only what they use.
export const appRoutes: RouteRecordRaw[] = [
  {
    path: 'dashboard', name: 'dashboard', component: dashboard.view,
    meta: { title: 'menu.dashboard', icon: 'DataLine', firstWave: dashboardFirstWave },
  },
  {
    path: 'campaigns',
    meta: { title: 'menu.campaigns', icon: 'Calendar' },
    children: [
      { path: 'series', name: 'series', component: () => import('@/views/campaigns/SeriesList.vue'), meta: { title: 'menu.series' } },
      { path: 'series/:seriesId', name: 'periods', component: () => import('@/views/campaigns/PeriodList.vue'), meta: { title: 'campaigns.periods', hidden: true } },
      { path: 'periods/:periodId', name: 'period', component: () => import('@/views/campaigns/PeriodDetail.vue'), meta: { title: 'campaigns.settlement', hidden: true } },
      { path: 'channels', name: 'channels', component: () => import('@/views/campaigns/Channels.vue'), meta: { title: 'menu.channels' } },
      { path: 'communities', name: 'communities', component: () => import('@/views/campaigns/CommunityMatrix.vue'), meta: { title: 'menu.communities' } },
      { path: 'referrals', name: 'referrals', component: () => import('@/views/campaigns/Referrals.vue'), meta: { title: 'referrals.menu' } },
    ],
  },
  {
    path: 'members',
    meta: { title: 'menu.members', icon: 'User' },
    children: [
      { path: '', name: 'members', component: () => import('@/views/members/index.vue'), meta: { title: 'menu.memberSearch' } },
      { path: ':memberNo', name: 'member', component: () => import('@/views/members/MemberProfile.vue'), meta: { title: 'members.profile', hidden: true } },
      { path: 'tags', name: 'tags', component: () => import('@/views/tags/index.vue'), meta: { title: 'menu.tags' } },
      { path: 'rules', name: 'rules', component: () => import('@/views/tags/Rules.vue'), meta: { title: 'menu.rules' } },
      { path: 'segments', name: 'segments', component: () => import('@/views/segments/index.vue'), meta: { title: 'menu.segments' } },
    ],
  },
  {
    path: 'messaging',
    meta: { title: 'menu.messaging', icon: 'ChatDotRound' },
    children: [
      { path: 'templates', name: 'templates', component: () => import('@/views/messaging/Templates.vue'), meta: { title: 'menu.templates' } },
      { path: 'broadcasts', name: 'broadcasts', component: () => import('@/views/messaging/Broadcasts.vue'), meta: { title: 'menu.broadcasts' } },
      { path: 'messages', name: 'messages', component: () => import('@/views/messaging/Messages.vue'), meta: { title: 'menu.messages' } },
      { path: 'purposes', name: 'purposes', component: () => import('@/views/messaging/Purposes.vue'), meta: { title: 'purposes.menu' } },
      { path: 'auto-replies', name: 'auto-replies', component: () => import('@/views/messaging/AutoReplies.vue'), meta: { title: 'autoReplies.menu' } },
    ],
  },
  {
    path: 'system',
    meta: { title: 'menu.system', icon: 'Setting', roles: ['admin'] },
    children: [
      { path: 'staff', name: 'staff', component: () => import('@/views/staff/index.vue'), meta: { title: 'menu.staff', roles: ['admin'] } },
    ],
  },
]

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/views/login/index.vue'), meta: { public: true, title: 'login.title' } },
  {
    path: '/',
    component: () => import('@/layout/BasicLayout.vue'),
    redirect: '/dashboard',
    children: appRoutes,
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/views/error/NotFound.vue'), meta: { public: true } },
]
