import { randomUUID } from 'node:crypto'

// Anything else (control characters, spaces, overlong values) is replaced, so a client cannot forge log lines.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

/** The client's `X-Request-Id` when it is a safe token, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header
  return value !== undefined && SAFE_REQUEST_ID.test(value) ? value : randomUUID()
}
