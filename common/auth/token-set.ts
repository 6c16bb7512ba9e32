import { createHash, timingSafeEqual } from 'node:crypto'
import type { Role } from './roles.ts'
import type { TokenEntry } from './tokens-file.ts'

export interface Holder {
  role: Role
  name: string
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * The tokens a service accepts, kept as SHA-256 digests. A presented token is hashed and compared with every digest
 * by `crypto.timingSafeEqual`, all of them whatever matches: the time taken says nothing about how much of a token
 * was right, nor which one matched (hashing first also makes every comparison the same length).
 */
export class TokenSet {
  readonly #entries: { digest: Buffer; holder: Holder }[]

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = entries.map((e) => ({ digest: digest(e.token), holder: { role: e.role, name: e.name } }))
  }

  get size(): number {
    return this.#entries.length
  }

  /** The holder of this token, or undefined. */
  lookup(presented: string): Holder | undefined {
    const candidate = digest(presented)
    let found: Holder | undefined
    for (const entry of this.#entries) if (timingSafeEqual(entry.digest, candidate)) found = entry.holder
    return found
  }
}

/** The `Authorization: Bearer <token>` header for a token (a client's side), or none without one. */
export function bearerHeader(token: string | undefined): { authorization?: string } {
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none or it is another scheme. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)
  return match?.[1]
}
