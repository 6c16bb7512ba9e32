import { AjvCompiler } from '@fastify/ajv-compiler'

interface AjvServerOptions {
  customOptions?: object
  plugins?: unknown[]
}
interface RouteValidation {
  schema: unknown
  method: string
  url: string
  httpPart?: string
}
type Compile = (route: RouteValidation) => unknown

/**
 * Fastify's own validators (its Ajv, options and shared schemas) with one change: a JSON body is taken as typed. Ajv's
 * type coercion suits the query string, headers and path, where every value arrives as text (`?limit=5`), but in a
 * body it would quietly turn `"limit": "5"` or `true` into a number the client never sent; there a wrong type is a
 * 400. Given to Fastify as `schemaController.compilersFactory.buildValidator`.
 */
function buildValidators(externalSchemas: Record<string, unknown>, ajvOptions?: AjvServerOptions): Compile {
  const pool = AjvCompiler()
  const build = (options: AjvServerOptions) => pool(externalSchemas as never, options as never) as unknown as Compile
  const coercing = build(ajvOptions ?? {})
  const typed = build({ ...ajvOptions, customOptions: { ...ajvOptions?.customOptions, coerceTypes: false } })
  return (route) => (route.httpPart === 'body' ? typed : coercing)(route)
}

// @fastify/ajv-compiler's declarations give its compile function the schema alone; Fastify calls it with the route
// (schema, method, url, httpPart), as the code above relies on.
export const strictBodyValidators = buildValidators as unknown as ReturnType<typeof AjvCompiler>
