import { MissingDataError } from '../config.ts'
import { TokenSet } from './token-set.ts'
import { parseTokensFile } from './tokens-file.ts'
import { WatchedFile, type WatchedFileLog } from './watched-file.ts'

/** A tokens file's text → the tokens it grants; throws naming the refused lines (never their tokens). */
export function tokenSetFromText(text: string): TokenSet {
  const { entries, errors } = parseTokensFile(text)
  if (errors.length > 0) throw new Error(`refused line(s): ${errors.map((e) => `${e.line} (${e.message})`).join('; ')}`)
  // An empty file would lock everyone out of everything: a mistake, not a policy.
  if (entries.length === 0) throw new Error('no token in it')
  return new TokenSet(entries)
}

/** The tokens file, watched: its tokens as of the last good read. Missing or invalid at start: a one-line error. */
export function openTokenStore(path: string, log: WatchedFileLog): WatchedFile<TokenSet> {
  try {
    return new WatchedFile(path, tokenSetFromText, log, 'tokens file')
  } catch (error) {
    throw new MissingDataError(`TOKENS_FILE ${path}: ${(error as Error).message}`)
  }
}

/** A file holding one secret (a token this service presents to others), watched so it can rotate. */
export function openSecretFile(setting: string, path: string, log: WatchedFileLog): WatchedFile<string> {
  const parse = (text: string) => {
    const secret = text.trim()
    if (secret === '' || /\s/.test(secret)) throw new Error('expected one token and nothing else')
    return secret
  }
  try {
    return new WatchedFile(path, parse, log, `${setting} file`)
  } catch (error) {
    throw new MissingDataError(`${setting} ${path}: ${(error as Error).message}`)
  }
}
