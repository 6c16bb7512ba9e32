import { existsSync } from 'node:fs'
import { cp, readFile, rm } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { compareVersions } from '../../../common/http/model-selection.ts'
import { MODEL_NAME_PATTERN, productionVersion, type RegistryState } from '../../../common/model-registry/state.ts'
import { readStateFile, writeStateFile } from '../../../common/model-registry/state-file.ts'
import {
  type Change,
  clearFallback,
  promote,
  RegistryError,
  registerVersion,
  rollback,
  setCanary,
  setFallback,
} from '../../../common/model-registry/transitions.ts'
import { modelViews, type Served } from '../../../common/model-registry/views.ts'
import { type DiskVersion, diskVersions } from './disk-versions.ts'
import { validateManifest } from './manifest.ts'
import { manifestsIn } from './model-folders.ts'
import { labelsOfVersion } from './version-labels.ts'

export const MODELS_COMMANDS = ['list', 'promote', 'rollback', 'canary', 'register', 'fallback'] as const

export interface ModelsCommand {
  command: (typeof MODELS_COMMANDS)[number]
  /** NAME, or DIR for register. */
  target: string | undefined
  version: string | undefined
  weight: number | undefined
  force: boolean
  /** fallback: remove the model's fallback instead of setting one. */
  clear?: boolean
  /** register: the model's name when DIR's manifest does not give it (a TF.js folder). */
  name: string | undefined
  modelsDir: string | undefined
  registryFile: string
}

/**
 * `npm run models`: what each sub-command does to the registry state file (and, for register, to MODELS_DIR).
 * Returns the lines to print; a RegistryError is the user's mistake, said in one line by the caller.
 */
export async function runModelsCommand(options: ModelsCommand, now = new Date().toISOString()): Promise<string[]> {
  const { state } = await readStateFile(options.registryFile)
  const onDisk = await diskVersions(options.modelsDir)
  const versionsOf = (name: string) => onDisk.filter((v) => v.name === name).map((v) => v.version)
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined) throw new RegistryError('unknown_model', `${options.command} needs ${what}`)
    return value
  }
  let change: Change
  switch (options.command) {
    case 'list':
      return listLines(state, onDisk, options)
    case 'promote': {
      const name = need(options.target, 'NAME VERSION')
      const known = { versions: versionsOf(name), force: options.force }
      change = promote(withImplicitProduction(state, name, onDisk), name, need(options.version, 'NAME VERSION'), known)
      break
    }
    case 'rollback':
      change = rollback(state, need(options.target, 'NAME'), now)
      break
    case 'canary': {
      const name = need(options.target, 'NAME VERSION --weight W')
      const version = need(options.version, 'NAME VERSION --weight W')
      if (options.weight === undefined) throw new RegistryError('weight_out_of_range', 'canary needs --weight W (0–1)')
      change = setCanary(withImplicitProduction(state, name, onDisk), name, version, options.weight, now, {
        versions: versionsOf(name),
        force: options.force,
      })
      break
    }
    case 'register':
      return register(state, need(options.target, 'DIR'), options, onDisk, now)
    case 'fallback': {
      const name = need(options.target, 'NAME MODEL@VERSION (or NAME --clear)')
      if (options.clear) {
        change = clearFallback(state, name)
        break
      }
      change = await fallbackChange(state, name, need(options.version, 'NAME MODEL@VERSION'), onDisk, now)
      break
    }
  }
  await writeStateFile(options.registryFile, change.state)
  return [change.summary, `→ ${options.registryFile}`]
}

/**
 * A model the registry has no production version for runs its newest version on disk (as the gateway does): a
 * change that needs production (a canary) or replaces it (promote, which archives it) records that first.
 */
function withImplicitProduction(state: RegistryState, name: string, onDisk: readonly DiskVersion[]): RegistryState {
  if (productionVersion(state.models[name])) return state
  const listed = state.models[name]?.versions ?? {}
  const newest = onDisk
    .filter((v) => v.name === name && !listed[v.version])
    .map((v) => v.version)
    .sort(compareVersions)
    .at(-1)
  if (!newest) return state
  const next = structuredClone(state)
  next.models[name] ??= { versions: {} }
  next.models[name].versions[newest] = { stage: 'production' }
  return next
}

/**
 * `fallback NAME MODEL@VERSION`; `fallback NAME MODEL` (another model: its production version, else its newest on
 * disk); `fallback NAME VERSION` (a version of NAME itself). Checks that the version exists and answers in NAME's
 * classes (the labels of NAME's production version, else of any it has).
 */
export async function fallbackChange(
  state: RegistryState,
  name: string,
  selector: string,
  onDisk: readonly DiskVersion[],
  now: string,
): Promise<Change> {
  const at = selector.indexOf('@')
  const isModel = at < 0 && selector !== name && (onDisk.some((v) => v.name === selector) || !!state.models[selector])
  const ofModel = isModel
    ? productionVersion(withImplicitProduction(state, selector, onDisk).models[selector])
    : undefined
  if (isModel && ofModel === undefined) {
    throw new RegistryError('unknown_version', `${selector} has no production version: name one, ${selector}@VERSION`)
  }
  const fallback =
    at >= 0
      ? { model: selector.slice(0, at), version: selector.slice(at + 1) }
      : isModel
        ? { model: selector, version: ofModel! }
        : { model: name, version: selector }
  const listed = Object.keys(state.models[fallback.model]?.versions ?? {})
  const fallbackVersions = [
    ...new Set([...onDisk.filter((v) => v.name === fallback.model).map((v) => v.version), ...listed]),
  ]
  if (fallbackVersions.length === 0) throw new RegistryError('unknown_model', `no model named '${fallback.model}'`)
  const primaryVersion = productionVersion(withImplicitProduction(state, name, onDisk).models[name])
  const primary =
    (primaryVersion && (await labelsOfVersion(onDisk, name, primaryVersion))) ??
    (await labelsOfVersion(onDisk, name, undefined))
  if (!primary)
    throw new RegistryError('unknown_model', `no model named '${name}' (nothing on disk to read its labels from)`)
  const ofFallback = fallbackVersions.includes(fallback.version)
    ? await labelsOfVersion(onDisk, fallback.model, fallback.version)
    : []
  if (!ofFallback) {
    throw new RegistryError(
      'labels_differ',
      `${fallback.model}@${fallback.version} is not on disk here: its labels cannot be checked`,
    )
  }
  return setFallback(withImplicitProduction(state, name, onDisk), name, fallback, now, {
    fallbackVersions,
    labels: { primary, fallback: ofFallback },
  })
}

function listLines(state: RegistryState, onDisk: readonly DiskVersion[], options: ModelsCommand): string[] {
  const served = new Map<string, Map<string, Served>>()
  for (const { name, version } of onDisk) {
    if (!served.has(name)) served.set(name, new Map())
    served.get(name)!.set(version, { replicas: 0, ready: 0 })
  }
  const rows = [['MODEL', 'VERSION', 'STAGE', 'WEIGHT', 'ON DISK', 'GATE', 'NOTE']]
  for (const model of modelViews(state, served)) {
    for (const v of model.versions) {
      const gate = v.gate ? `${v.gate.passed ? 'passed' : 'FAILED'} ${v.gate.at}` : '–'
      const note = v.rolled_back
        ? `rolled back ${v.rolled_back.at}: ${v.rolled_back.reason}`
        : v.implicit
          ? 'newest on disk'
          : ''
      rows.push([
        model.name,
        v.version,
        v.stage,
        String(Math.round(v.weight * 1000) / 1000),
        served.get(model.name)?.has(v.version) ? 'yes' : 'no',
        gate,
        note,
      ])
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
  const fallbacks = modelViews(state, served)
    .filter((model) => model.fallback)
    .map(
      (model) =>
        `fallback: ${model.name} → ${model.fallback} (answers, degraded, what ${model.name} would not in time)`,
    )
  return [
    ...lines,
    ...(fallbacks.length > 0 ? ['', ...fallbacks] : []),
    '',
    `registry: ${options.registryFile}${existsSync(options.registryFile) ? '' : ' (not written yet: the embedded default)'}`,
    `models folder: ${options.modelsDir ?? 'none'}`,
  ]
}

/**
 * `register DIR [VERSION]`: copies a model folder (a manifest with its files, or a TF.js model.json with its shards
 * and labels.json) to MODELS_DIR/<name>/<version>/ and lists the version as staging.
 */
async function register(
  state: RegistryState,
  dir: string,
  options: ModelsCommand,
  onDisk: readonly DiskVersion[],
  now: string,
): Promise<string[]> {
  const source = resolve(dir)
  if (!existsSync(source)) throw new RegistryError('unknown_model', `${dir} does not exist`)
  if (!options.modelsDir) throw new RegistryError('unknown_model', 'register needs a models folder (MODELS_DIR)')
  const manifests = await manifestsIn(source)
  let name = options.name
  let version = options.version
  if (manifests.length > 1) {
    throw new RegistryError('unknown_model', `${dir} has ${manifests.length} manifests: a version folder holds one`)
  }
  if (manifests.length === 1) {
    const path = join(source, manifests[0]!)
    let manifest: ReturnType<typeof validateManifest>
    try {
      manifest = validateManifest(JSON.parse(await readFile(path, 'utf8')), path)
    } catch (error) {
      throw new RegistryError('unknown_model', (error as Error).message)
    }
    name ??= manifest.name
    version ??= manifest.version
    for (const file of [manifest.file, manifest.labels]) {
      if (!existsSync(join(source, file)))
        throw new RegistryError('unknown_model', `${path} names ${file}, which is missing`)
    }
  } else if (existsSync(join(source, 'model.json'))) {
    name ??= basename(source).toLowerCase()
    if (!existsSync(join(source, 'labels.json'))) {
      throw new RegistryError('unknown_model', `${dir} has a TF.js model.json but no labels.json`)
    }
    if (version === undefined) {
      throw new RegistryError('invalid_version', `which version is ${dir}? npm run models -- register ${dir} VERSION`)
    }
  } else {
    throw new RegistryError('unknown_model', `${dir} holds no model (no *.manifest.json, no TF.js model.json)`)
  }
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new RegistryError('unknown_model', `model name '${name}': lower-case letters, digits, '.', '_' or '-'`)
  }
  const destination = join(options.modelsDir, name, version)
  if (existsSync(destination)) throw new RegistryError('version_exists', `${destination} already exists`)
  // The version that served NAME until now becomes explicit production, so registering never changes traffic.
  const listed = state.models[name]?.versions ?? {}
  const current =
    productionVersion(state.models[name]) ??
    onDisk
      .filter((v) => v.name === name && !listed[v.version])
      .map((v) => v.version)
      .sort(compareVersions)
      .at(-1)
  const change = registerVersion(state, name, version, now, current)
  await cp(source, destination, { recursive: true, errorOnExist: true, force: false })
  try {
    await writeStateFile(options.registryFile, change.state)
  } catch (error) {
    await rm(destination, { recursive: true, force: true })
    throw error
  }
  return [
    change.summary,
    `copied ${source} → ${destination}`,
    `→ ${options.registryFile}`,
    'Replicas load model versions when they start: restart them to serve it (it gets no NAME traffic until a canary or promote).',
  ]
}
