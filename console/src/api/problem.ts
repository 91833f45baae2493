// RFC 9457 problem documents as every service renders them, and how the console words them.

export interface FieldError {
  field: string
  message: string
  code?: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  request_id?: string
  errors?: FieldError[]
  [extra: string]: unknown
}

/** The stable slug at the end of a problem's `type` URI. */
export function problemSlug(problem: Pick<Problem, 'type'>): string {
  const type = problem.type || ''
  return type.slice(type.lastIndexOf('/') + 1)
}

const CJK = /[\u3400-\u9fff]/

/**
 * The message to show: the service's own `detail` when it is written for the reader's
 * language (services write Chinese details); otherwise the console's wording of the slug,
 * then the detail as it is.
 */
export function problemMessage(
  problem: Problem,
  locale: string,
  translate: (slug: string) => string | null,
): string {
  const detail = problem.detail || problem.title || ''
  const chineseDetail = CJK.test(detail)
  if (locale === 'zh-CN' && chineseDetail) return withFields(detail, problem)
  const worded = translate(problemSlug(problem))
  if (worded) return withFields(worded, problem)
  return withFields(detail, problem)
}

function withFields(message: string, problem: Problem): string {
  if (!problem.errors?.length) return message
  const fields = problem.errors
    .slice(0, 3)
    .map((e) => `${e.field}: ${e.message}`)
    .join('；')
  return `${message}（${fields}）`
}
