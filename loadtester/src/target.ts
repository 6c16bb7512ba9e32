/**
 * Where the load goes. Like seed-style load testers, the target is a URL: a service's base URL
 * (`http://host:8080`, a gateway or a replica: POST /predict) or the endpoint itself
 * (`http://host:8080/add_to_queue?model=darknet-tiny`: POST to that path, query kept).
 */
export interface LoadTarget {
  /** `scheme://host:port`: what a connection pool opens (undici wants no path in it). */
  origin: string
  /** Path and query every request is POSTed to; always starts with `/`. */
  path: string
  /** The target, normalized (no fragment, no empty query, no trailing `/` after a bare host): for reports and logs. */
  href: string
}

/** The endpoint POSTed to when the target URL has no path. */
export const DEFAULT_PATH = '/predict'

const EXPECTED = 'expected an http(s) URL, e.g. http://127.0.0.1:8080 or http://127.0.0.1:8080/add_to_queue'

/** Reads a target URL; throws a plain Error saying what is expected (the config names the setting). */
export function parseTarget(raw: string): LoadTarget {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(EXPECTED)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw new Error(EXPECTED)
  if (url.username !== '' || url.password !== '') throw new Error('expected a URL without user name or password')
  // Rebuilt from the parts, so the fragment and an empty query (a lone `?`) are gone from every one of them.
  const bare = url.pathname === '/'
  return {
    origin: url.origin,
    path: `${bare ? DEFAULT_PATH : url.pathname}${url.search}`,
    href: bare && url.search === '' ? url.origin : `${url.origin}${url.pathname}${url.search}`,
  }
}

/**
 * Another endpoint of the same service (`replicas` for GET /replicas), resolved against the endpoint like a relative
 * link: beside it. `http://h:8080` and `http://h:8080/add_to_queue` → `http://h:8080/replicas`; a gateway mounted
 * under a prefix, `http://h/switchyard/predict` → `http://h/switchyard/replicas`. The target's query is not carried.
 */
export function siblingUrl(target: LoadTarget, name: string): string {
  // Concatenated, not resolved: a path like `//x/predict` must stay a path on this origin.
  return new URL(name, `${target.origin}${target.path}`).href
}
