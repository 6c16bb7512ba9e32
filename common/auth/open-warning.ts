/**
 * Without a tokens file nothing asks for a token. That is the right default on a laptop (HOST defaults to 127.0.0.1:
 * only this machine can connect) and behind a NetworkPolicy; anywhere else it deserves a loud line at start-up.
 * Returns that line, or undefined when the service is closed (tokens) or only reachable from this machine.
 */
export function openAccessWarning(host: string, tokensConfigured: boolean): string | undefined {
  if (tokensConfigured || isLoopback(host)) return undefined
  return `no TOKENS_FILE: every endpoint (batch jobs, /metrics, /replicas, /autoscale, /docs, …) is open to anyone who can reach ${host}; set TOKENS_FILE, or keep the port to trusted clients (HOST=127.0.0.1, a NetworkPolicy, a firewall)`
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}
