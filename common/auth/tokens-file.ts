import { createHash } from 'node:crypto'
import { isRole, ROLES, type Role } from './roles.ts'

export interface TokenEntry {
  role: Role
  token: string
  /** Who holds it, for logs and batch-job ownership (never the token itself): given, or a hash prefix. */
  name: string
}

export interface ParsedTokens {
  entries: TokenEntry[]
  /** Lines that were refused, 1-based, with why (the token itself is never repeated). */
  errors: { line: number; message: string }[]
}

/** Shortest token accepted: 16 characters of a random token are ~96 bits from base64, 64 from hex. */
export const MIN_TOKEN_LENGTH = 16
const TOKEN_PATTERN = /^[\x21-\x7e]+$/
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

/**
 * The tokens file: one token per line, `ROLE TOKEN [NAME]` separated by spaces or tabs; blank lines and lines starting
 * with `#` are ignored. ROLE is admin, batch or predict; TOKEN at least 16 printable ASCII characters (e.g.
 * `openssl rand -hex 32`); NAME names its holder in logs and owns its batch jobs (default: `token-` + 8 hex digits
 * of the token's SHA-256). A token listed twice, or a name given to two tokens, is refused.
 */
export function parseTokensFile(text: string): ParsedTokens {
  const entries: TokenEntry[] = []
  const errors: ParsedTokens['errors'] = []
  const seenTokens = new Set<string>()
  const seenNames = new Set<string>()
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const parsed = parseLine(trimmed)
    let message = typeof parsed === 'string' ? parsed : undefined
    if (typeof parsed !== 'string') {
      if (seenTokens.has(parsed.token)) message = 'this token is already listed'
      else if (seenNames.has(parsed.name)) message = `the name ${parsed.name} is already taken`
    }
    if (message !== undefined || typeof parsed === 'string') {
      errors.push({ line: index + 1, message: message ?? String(parsed) })
      return
    }
    seenTokens.add(parsed.token)
    seenNames.add(parsed.name)
    entries.push(parsed)
  })
  return { entries, errors }
}

/** One non-blank, non-comment line: its entry, or why it is refused. */
function parseLine(line: string): TokenEntry | string {
  const [role, token, name, ...rest] = line.split(/[ \t]+/) as [string, string?, string?, ...string[]]
  if (!isRole(role)) return `role must be one of ${ROLES.join(', ')}`
  if (token === undefined) return 'a role needs a token after it'
  if (rest.length > 0) return 'expected ROLE TOKEN [NAME]: too many fields'
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(token))
    return `a token is at least ${MIN_TOKEN_LENGTH} printable ASCII characters`
  if (name !== undefined && !NAME_PATTERN.test(name)) return 'a name is up to 64 letters, digits, ".", "_", "@" or "-"'
  return { role, token, name: name ?? `token-${createHash('sha256').update(token).digest('hex').slice(0, 8)}` }
}
