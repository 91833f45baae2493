import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { getMe, login as apiLogin, type Role, type Staff } from '@/api/staff'
import { clearToken, getToken, setToken } from '@/utils/token'

/** What a role may do in the console (the API enforces the same, whatever is shown). */
export type Ability = 'edit' | 'manageStaff'

const ABILITIES: Record<Role, Ability[]> = {
  admin: ['edit', 'manageStaff'],
  operator: ['edit'],
  sales: [],
  viewer: [],
}

export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | null>(getToken())
  const me = ref<Staff | null>(null)

  const role = computed<Role | null>(() => me.value?.role ?? null)

  function can(ability: Ability): boolean {
    return role.value ? ABILITIES[role.value].includes(ability) : false
  }

  function hasRole(roles: Role[] | undefined): boolean {
    return !roles || (role.value !== null && roles.includes(role.value))
  }

  async function login(username: string, password: string): Promise<Staff> {
    const session = await apiLogin(username, password)
    setToken(session.token)
    token.value = session.token
    me.value = session.staff
    return session.staff
  }

  async function loadMe(): Promise<Staff | null> {
    if (!token.value) return null
    if (!me.value) me.value = await getMe()
    return me.value
  }

  function logout(): void {
    clearToken()
    token.value = null
    me.value = null
  }

  return { token, me, role, can, hasRole, login, loadMe, logout }
})
