import type { FastifyInstance } from 'fastify'
import { ServiceError } from '../errors.ts'
import { printableClientText } from './model-selection.ts'

/**
 * The request headers some route reads, each meant once. Sent twice they are ambiguous, and Node hides it: it joins
 * most repeats with ", " ("5000, 10" is then a puzzling value) and silently keeps the first of some (Content-Type,
 * Authorization), so a proxy and this service could each act on a different one.
 */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'content-length',
  'content-type',
  'x-deadline-ms',
  'x-model',
  'x-priority',
  'x-request-id',
  'x-timeout-ms',
])

/** The first query parameter given more than once (Fastify's parser makes its value an array), if any. */
export function repeatedQueryParameter(query: unknown): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined
  for (const [name, value] of Object.entries(query)) if (Array.isArray(value)) return name
  return undefined
}

/**
 * The first header of `names` (lower-case) that occurs more than once in Node's `rawHeaders` (name, value, name,
 * value…; names as sent), if any, in lower case.
 */
export function repeatedHeader(
  rawHeaders: readonly string[],
  names: ReadonlySet<string> = SINGLE_VALUE_HEADERS,
): string | undefined {
  const seen = new Set<string>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    if (!names.has(name)) continue
    if (seen.has(name)) return name
    seen.add(name)
  }
  return undefined
}

/**
 * Refuses a repeated query parameter or a repeated header of SINGLE_VALUE_HEADERS with a 400 naming it, first thing
 * for every route: no handler or admission hook ever sees an array where it reads one value.
 */
export function installRepeatedFieldCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const parameter = repeatedQueryParameter(request.query)
    if (parameter !== undefined) {
      done(
        new ServiceError(
          'invalid_query',
          `query parameter "${printableClientText(parameter, 64)}" is given more than once; give it once`,
        ),
      )
      return
    }
    const header = repeatedHeader(request.raw.rawHeaders)
    if (header !== undefined) {
      done(new ServiceError('invalid_header', `header ${header} is sent more than once; send it once`))
      return
    }
    done()
  })
}
