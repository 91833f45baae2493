import { http, type Page } from './http'

export type Role = 'admin' | 'operator' | 'sales' | 'viewer'
export const ROLES: Role[] = ['admin', 'operator', 'sales', 'viewer']

export interface Staff {
  id: number
  username: string
  display_name: string | null
  role: Role
  disabled: boolean
  locked_until: string | null
  last_login_at: string | null
  created_at: string
}

export interface StaffSession {
  token: string
  expires_in: number
  staff: Staff
}

export interface StaffCreate {
  username: string
  password: string
  role: Role
  display_name?: string | null
}

/** POST /admin/v1/session: sign in (the caller shows lockout messages itself). */
export const login = (username: string, password: string) =>
  http.post<StaffSession>('/admin/v1/session', { username, password }, { silent: true })

/** GET /admin/v1/staff/me */
export const getMe = () => http.get<Staff>('/admin/v1/staff/me')

/** GET /admin/v1/staff */
export const listStaff = (cursor?: string | null, limit = 20) =>
  http.get<Page<Staff>>('/admin/v1/staff', { cursor, limit })

/** POST /admin/v1/staff */
export const createStaff = (body: StaffCreate) => http.post<Staff>('/admin/v1/staff', body)

/** PUT /admin/v1/staff/{id}/role */
export const changeStaffRole = (id: number, role: Role) => http.put<Staff>(`/admin/v1/staff/${id}/role`, { role })

/** POST /admin/v1/staff/{id}/disable */
export const disableStaff = (id: number) => http.post<Staff>(`/admin/v1/staff/${id}/disable`)

/** POST /admin/v1/staff/{id}/enable */
export const enableStaff = (id: number) => http.post<Staff>(`/admin/v1/staff/${id}/enable`)
