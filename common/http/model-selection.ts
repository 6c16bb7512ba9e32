/**
 * How a client picks a model, the same at the gateway and at a replica: `?model=NAME` or `X-Model: NAME`, and
 * `NAME@VERSION` for exactly one version.
 */
export const modelQuerySchema = {
  type: 'object',
  properties: {
    model: {
      type: 'string',
      maxLength: 129,
      description:
        'model to run, NAME or NAME@VERSION (see GET /models); the X-Model header works too; default: resnet18',
    },
  },
} as const

/** `?model=` wins over `X-Model`; neither means the default model. */
export function requestedModel(request: { query: unknown; headers: Record<string, unknown> }): string | undefined {
  const fromQuery = (request.query as { model?: string } | undefined)?.model
  const fromHeader = request.headers['x-model']
  if (fromQuery) return fromQuery
  return typeof fromHeader === 'string' && fromHeader !== '' ? fromHeader : undefined
}

/** A model selector split: `darknet-tiny@v2` → name `darknet-tiny`, version `v2`; `darknet-tiny` → no version. */
export interface ModelSelector {
  name: string
  version?: string
}

export function parseModelSelector(selector: string): ModelSelector {
  const at = selector.indexOf('@')
  if (at < 0) return { name: selector }
  return { name: selector.slice(0, at), version: selector.slice(at + 1) }
}

/** The one spelling of a model version as a key (routing, metrics, logs): `NAME@VERSION`. */
export function modelVersionKey(name: string, version: string): string {
  return `${name}@${version}`
}

/** Client text echoed in an error message: kept to `max` characters, anything but `\w . @ -` shown as `?`. */
export function printableClientText(text: string, max: number): string {
  return text.replace(/[^\w.@-]/g, '?').slice(0, max)
}

/** Model names come from the client and are echoed in errors: keep them short and printable. */
export function printableModelName(name: string): string {
  return printableClientText(name, 129)
}

/**
 * Versions in the order people number them: `v2` before `v10`, `1.9` before `1.10`. The last one is the newest, which
 * a replica serves for a bare `NAME` and the gateway treats as production while the registry names none.
 */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0)
}
