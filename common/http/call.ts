import { request } from 'undici'
import { imageUpload } from './multipart-body.ts'

export interface JsonResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON answers
  body: any
}

export async function call(
  url: string,
  options: {
    method?: 'GET' | 'POST' | 'DELETE'
    headers?: Record<string, string>
    body?: Buffer | string
    signal?: AbortSignal
  } = {},
): Promise<JsonResponse> {
  const response = await request(url, {
    method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
    headers: options.headers,
    body: options.body,
    signal: options.signal,
  })
  const text = await response.body.text()
  const type = String(response.headers['content-type'] ?? '')
  return {
    status: response.statusCode,
    headers: response.headers,
    body: type.includes('json') ? JSON.parse(text) : text,
  }
}

/** POSTs an image as multipart field `file` (the seed API). */
export async function postImage(url: string, image: Buffer, headers: Record<string, string> = {}, field = 'file') {
  const { body, contentType } = await imageUpload(image, { field })
  return call(url, { method: 'POST', body, headers: { 'content-type': contentType, ...headers } })
}

/** Checks the shape every error answer must have, and returns its code. */
export function errorCode(response: JsonResponse): string {
  const { body } = response
  if (typeof body !== 'object' || body === null) throw new Error(`expected a JSON error, got ${String(body)}`)
  for (const key of ['error', 'code', 'request_id']) {
    if (typeof body[key] !== 'string') throw new Error(`error body lacks "${key}": ${JSON.stringify(body)}`)
  }
  return body.code
}

/** POSTs a JSON body. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
}
