import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { EMBEDDED_DEFAULT_STATE, type GateVerdict, type RegistryState, validateRegistryState } from './state.ts'
import { type Change, recordGate } from './transitions.ts'

/**
 * The registry state as a file: JSON, read whole and validated, written atomically (a temporary file in the same
 * folder, then a rename) so a gateway watching it never reads half a write. A missing file is the embedded default.
 */

export interface LoadedState {
  state: RegistryState
  /** The file's exact text (undefined: no file, the embedded default): a reload compares it to see a change. */
  text: string | undefined
}

export async function readStateFile(path: string): Promise<LoadedState> {
  const text = await readStateText(path)
  return { state: text === undefined ? EMBEDDED_DEFAULT_STATE : parseStateText(text, path), text }
}

/** The file's text; undefined when there is no file. */
export async function readStateText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export function parseStateText(text: string, where: string): RegistryState {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`${where} is not JSON: ${(error as Error).message}`)
  }
  try {
    return validateRegistryState(json)
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`)
  }
}

export async function writeStateFile(path: string, state: RegistryState): Promise<void> {
  validateRegistryState(state)
  await mkdir(dirname(path), { recursive: true })
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { flush: true })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** Reads the file, applies one change, writes the result back; what the change says is returned. */
export async function updateStateFile(path: string, change: (state: RegistryState) => Change): Promise<Change> {
  const { state } = await readStateFile(path)
  const result = change(state)
  await writeStateFile(path, result.state)
  return result
}

/**
 * Records the regression gate's verdict on one version in the state file (the gate calls this; `models promote`
 * then refuses a version whose last verdict is `passed: false`, unless forced).
 */
export async function recordGateVerdict(
  stateFile: string,
  name: string,
  version: string,
  verdict: GateVerdict,
): Promise<Change> {
  return updateStateFile(stateFile, (state) => recordGate(state, name, version, verdict))
}
