/**
 * The URL a local client can reach a server at, from the one `app.listen()` returns: bound to every interface
 * (0.0.0.0 or [::]), it is reached at the loopback address, which logs, tests and the local fleet then use.
 */
export function reachableListenUrl(listenUrl: string): string {
  return listenUrl.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://127.0.0.1:')
}
