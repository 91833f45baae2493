import { defineStore } from 'pinia'
// The renewal dialog's styles (its code loads only when it is needed).
import 'element-plus/es/components/message-box/style/css'
import { computed, ref } from 'vue'
import { getMe, login as apiLogin, type Role, type Staff } from '@/api/staff'
import { ApiError, renewSession, setRenewHandler } from '@/api/http'
import { i18n } from '@/locales'
import { clearToken, decodeClaims, expiresAt, getToken, setToken } from '@/utils/token'

/** What a role may do in the console (the API enforces the same, whatever is shown). */
export type Ability = 'edit' | 'manageStaff'

const ABILITIES: Record<Role, Ability[]> = {
  admin: ['edit', 'manageStaff'],
  operator: ['edit'],
  sales: [],
  viewer: [],
}

const ROLES: Role[] = ['admin', 'operator', 'sales', 'viewer']

/** Ask to renew this long before the token expires, so work in progress is never refused. */
export const RENEW_AHEAD_MS = 2 * 60_000

export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | null>(getToken())
  const me = ref<Staff | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined

  // Until the profile has answered, the role the token carries (the API checks the token on every call anyway).
  const claimedRole = computed<Role | null>(() => {
    const roles = decodeClaims(token.value)?.roles
    return Array.isArray(roles) ? (ROLES.find((r) => roles.includes(r)) ?? null) : null
  })
  const role = computed<Role | null>(() => me.value?.role ?? claimedRole.value)
  const displayName = computed(() => me.value?.display_name || me.value?.username || decodeClaims(token.value)?.name || '')

  function can(ability: Ability): boolean {
    return role.value ? ABILITIES[role.value].includes(ability) : false
  }

  function hasRole(roles: Role[] | undefined): boolean {
    return !roles || (role.value !== null && roles.includes(role.value))
  }

  function store(newToken: string, staff: Staff): void {
    setToken(newToken)
    token.value = newToken
    me.value = staff
    schedule()
  }

  async function login(username: string, password: string): Promise<Staff> {
    const session = await apiLogin(username, password)
    store(session.token, session.staff)
    return session.staff
  }

  async function loadMe(): Promise<Staff | null> {
    if (!token.value) return null
    if (!me.value) me.value = await getMe()
    return me.value
  }

  function logout(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    clearToken()
    token.value = null
    me.value = null
  }

  /** Renew ahead of the expiry the token carries (the HTTP client renews on expiry too). */
  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const at = expiresAt(token.value)
    if (at === null) return
    // setTimeout holds at most ~24.8 days; a staff token lives hours.
    const delay = Math.min(Math.max(at - RENEW_AHEAD_MS - Date.now(), 0), 2 ** 31 - 1)
    timer = setTimeout(() => void renewSession(), delay)
  }

  /**
   * Renew the token by signing in again as the same staff member (the API has no refresh
   * endpoint, and the console keeps no password): a dialog over the page asks for the
   * password, so the page and what was typed in it stay. False when dismissed.
   */
  async function renewInteractively(): Promise<boolean> {
    const username = me.value?.username ?? decodeClaims(token.value ?? getToken())?.name
    if (!username) return false
    const t = i18n.global.t
    const [{ ElMessageBox }, { ElMessage }] = await Promise.all([
      import('element-plus/es/components/message-box/index.mjs'),
      import('element-plus/es/components/message/index.mjs'),
    ])
    try {
      await ElMessageBox.prompt(t('session.renewPrompt', { name: username }), t('session.renewTitle'), {
        inputType: 'password',
        inputPlaceholder: t('login.password'),
        inputValidator: (value: string) => Boolean(value) || (t('common.required') as string),
        confirmButtonText: t('session.renew'),
        cancelButtonText: t('session.toLogin'),
        customClass: 'session-renewal',
        closeOnClickModal: false,
        closeOnPressEscape: false,
        showClose: false,
        beforeClose: async (action, instance, done) => {
          if (action !== 'confirm') return done()
          instance.confirmButtonLoading = true
          try {
            await login(username, instance.inputValue)
            done()
          } catch (err) {
            // Wrong password or a lockout: say so and let them try again (or go to the login page).
            ElMessage.error({ message: err instanceof ApiError ? err.message : String(err), grouping: true })
          } finally {
            instance.confirmButtonLoading = false
          }
        },
      })
      return true
    } catch {
      return false
    }
  }

  setRenewHandler(renewInteractively)
  schedule()

  return { token, me, role, displayName, can, hasRole, login, loadMe, logout, renewInteractively }
})
