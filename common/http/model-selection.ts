/** How a client picks a model, the same at the gateway and at a replica: `?model=NAME` or `X-Model: NAME`. */
export const modelQuerySchema = {
  type: 'object',
  properties: {
    model: {
      type: 'string',
      maxLength: 64,
      description: 'model to run (see GET /models); the X-Model header works too; default: resnet18',
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

/** Model names come from the client and are echoed in errors: keep them short and printable. */
export function printableModelName(name: string): string {
  return name.replace(/[^\w.-]/g, '?').slice(0, 64)
}
