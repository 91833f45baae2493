// The staff token lives in sessionStorage: it ends with the browser tab, never in a cookie.
const KEY = 'qunyun.staff.token'

export function getToken(): string | null {
  return sessionStorage.getItem(KEY)
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY)
}
