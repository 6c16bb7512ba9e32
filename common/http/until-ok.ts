import { request } from 'undici'

/**
 * Polls `url` every 200 ms until it answers 200: for services that cannot announce readiness otherwise (Prometheus,
 * or a gateway whose replicas are still warming up after it started listening).
 */
export async function untilOk(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await request(url)
      .then(async (r) => {
        await r.body.dump()
        return r.statusCode === 200
      })
      .catch(() => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${what} not ready at ${url} after ${timeoutMs / 1000} s`)
}
