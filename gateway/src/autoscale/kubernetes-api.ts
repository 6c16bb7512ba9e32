import { readFile } from 'node:fs/promises'
import { Agent, request } from 'undici'

/** Where the Kubernetes API is and how this pod authenticates to it. */
export interface KubernetesConnection {
  /** API server base URL, e.g. https://10.96.0.1:443 (from KUBERNETES_SERVICE_HOST/PORT in a pod). */
  apiUrl: string
  /** Service-account token file; re-read on every call, as Kubernetes rotates it. */
  tokenFile: string
  /** CA bundle of the API server (the service account's ca.crt); none for a plain-HTTP test server. */
  caFile: string | undefined
}

/** An answer from the API server: its status and parsed JSON body (undefined when it was not JSON). */
export interface KubernetesResponse {
  status: number
  body: unknown
  text: string
}

export type KubernetesRequest = (
  method: 'GET' | 'POST' | 'PUT' | 'PATCH',
  path: string,
  body?: unknown,
  contentType?: string,
) => Promise<KubernetesResponse>

/** A minimal client: one method, the path, a JSON body; the answer whatever its status (callers decide). */
export async function kubernetesClient(connection: KubernetesConnection): Promise<KubernetesRequest> {
  const ca = connection.caFile ? await readFile(connection.caFile, 'utf8') : undefined
  const dispatcher = new Agent({ connect: ca ? { ca } : {} })
  return async (method, path, body, contentType = 'application/json') => {
    const token = (await readFile(connection.tokenFile, 'utf8')).trim()
    const response = await request(`${connection.apiUrl}${path}`, {
      method,
      dispatcher,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    })
    const text = await response.body.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: response.statusCode, body: parsed, text }
  }
}
