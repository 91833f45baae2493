import { ref } from 'vue'
import { ElMessage, type FormInstance } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError } from '@/api/http'
import { fieldMessages } from './fieldErrors'
import { i18n } from '@/locales'

export interface DrawerFormOptions<T> {
  /** The API call that saves the form (create or update). */
  submit: () => Promise<T>
  /** Checks beyond the el-form rules; false keeps the drawer open without a call. */
  validate?: () => boolean | Promise<boolean>
  /** After a save: reload the list, emit `success`… */
  onSuccess?: (saved: T) => void | Promise<void>
  /** The success message (common.saved by default). */
  successMessage?: () => string
}

/**
 * The save tail every create/edit drawer shares: validate → call → success message → close →
 * reload; on a problem the drawer stays open with the problem's field messages in `fieldErrors`
 * (the HTTP client has already shown its detail).
 */
export function useDrawerForm<T>(options: DrawerFormOptions<T>) {
  const visible = ref(false)
  const saving = ref(false)
  const formRef = ref<FormInstance>()
  const fieldErrors = ref<Record<string, string>>({})

  function show(): void {
    fieldErrors.value = {}
    formRef.value?.clearValidate()
    visible.value = true
  }

  function close(): void {
    visible.value = false
  }

  /** The message of a field (`channels.0.fields.thing1`), or '' for el-form-item's :error. */
  function errorOf(field: string): string {
    return fieldErrors.value[field] ?? ''
  }

  async function save(): Promise<T | undefined> {
    if (formRef.value && !(await formRef.value.validate().catch(() => false))) return undefined
    if (options.validate && !(await options.validate())) return undefined
    saving.value = true
    fieldErrors.value = {}
    try {
      const saved = await options.submit()
      ElMessage.success(options.successMessage?.() ?? (i18n.global.t('common.saved') as string))
      visible.value = false
      await options.onSuccess?.(saved)
      return saved
    } catch (err) {
      if (err instanceof ApiError) {
        fieldErrors.value = fieldMessages(err.problem.errors)
        return undefined
      }
      throw err
    } finally {
      saving.value = false
    }
  }

  return { visible, saving, formRef, fieldErrors, errorOf, show, close, save }
}
