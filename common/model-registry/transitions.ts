import { sameLabelSet } from '../image-labels.ts'
import {
  activeCanary,
  fallbackKey,
  type GateVerdict,
  type ModelState,
  productionVersion,
  type RegistryState,
  VERSION_PATTERN,
  validateRegistryState,
} from './state.ts'

/**
 * The registry's state changes, as pure functions from one state to the next: `npm run models`, the gate and the
 * gateway's automatic rollback all go through them, so every writer applies the same rules. Each returns a new,
 * validated state or throws a RegistryError with a stable code and a sentence a person can act on.
 */

export type RegistryErrorCode =
  | 'unknown_model'
  | 'unknown_version'
  | 'invalid_version'
  | 'version_exists'
  | 'weight_out_of_range'
  | 'gate_failed'
  | 'no_production'
  | 'already_production'
  | 'nothing_to_roll_back'
  | 'labels_differ'
  | 'invalid_fallback'

export class RegistryError extends Error {
  override name = 'RegistryError'
  readonly code: RegistryErrorCode
  constructor(code: RegistryErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

/** Versions known outside the state (found on disk in MODELS_DIR): they may be promoted or canaried too. */
export interface Known {
  /** Every version of the model that exists, state or not. */
  versions?: readonly string[]
}

export interface Change {
  state: RegistryState
  /** One line saying what changed, for the command's output and the logs. */
  summary: string
}

export function registerVersion(
  state: RegistryState,
  name: string,
  version: string,
  now: string,
  /** The production version to record when the state names none yet (what served `NAME` until now). */
  currentProduction?: string,
): Change {
  if (!VERSION_PATTERN.test(version))
    throw new RegistryError('invalid_version', `version '${version}': letters, digits, '.', '_' or '-' (≤ 64)`)
  const next = structuredClone(state)
  next.models[name] ??= { versions: {} }
  const model = next.models[name]
  if (model.versions[version]) throw new RegistryError('version_exists', `${name} ${version} is already registered`)
  if (currentProduction !== undefined && currentProduction !== version && !productionVersion(model)) {
    model.versions[currentProduction] = { ...model.versions[currentProduction], stage: 'production' }
  }
  model.versions[version] = { stage: 'staging', registered_at: now }
  return { state: validateRegistryState(next), summary: `registered ${name} ${version} (staging)` }
}

export function promote(
  state: RegistryState,
  name: string,
  version: string,
  options: Known & { force?: boolean } = {},
): Change {
  const next = structuredClone(state)
  const model = knownModel(next, name, version, options)
  const target = model.versions[version]!
  if (target.stage === 'production')
    throw new RegistryError('already_production', `${name} ${version} is already production`)
  if (target.gate?.passed === false && !options.force) {
    throw new RegistryError(
      'gate_failed',
      `${name} ${version} failed its last regression gate (${target.gate.at}${target.gate.summary ? `: ${target.gate.summary}` : ''}); ` +
        'run the gate again, or promote with --force',
    )
  }
  const previous = productionVersion(model)
  if (previous) {
    model.versions[previous]!.stage = 'archived'
    model.history = [...(model.history ?? []), previous]
  }
  target.stage = 'production'
  delete target.rolled_back
  // A promotion ends any canary: the split was an experiment about the production version that just changed.
  delete model.canary
  return {
    state: validateRegistryState(next),
    summary: `${name}: ${version} is production${previous ? ` (was ${previous}, now archived)` : ''}`,
  }
}

export function setCanary(
  state: RegistryState,
  name: string,
  version: string,
  weight: number,
  now: string,
  options: Known & { force?: boolean } = {},
): Change {
  if (!(Number.isFinite(weight) && weight >= 0 && weight <= 1)) {
    throw new RegistryError('weight_out_of_range', `weight ${weight} is out of range: a share between 0 and 1`)
  }
  const next = structuredClone(state)
  const model = knownModel(next, name, version, options)
  const target = model.versions[version]!
  const production = productionVersion(model)
  if (!production) {
    throw new RegistryError(
      'no_production',
      `${name} has no production version to split traffic with; promote one first`,
    )
  }
  if (production === version) throw new RegistryError('already_production', `${name} ${version} is production already`)
  if (target.gate?.passed === false && !options.force) {
    throw new RegistryError('gate_failed', `${name} ${version} failed its last regression gate; fix it or use --force`)
  }
  if (weight === 0) {
    delete model.canary
    return { state: validateRegistryState(next), summary: `${name}: no canary (weight 0)` }
  }
  target.stage = 'staging'
  model.canary = { version, weight, since: now }
  return {
    state: validateRegistryState(next),
    summary: `${name}: ${Math.round(weight * 1000) / 10} % of requests to ${version}, the rest to ${production}`,
  }
}

/**
 * `rollback NAME`: a canary in force is stopped (its version stays staging, marked rolled back); otherwise
 * production goes back to the version before it, and the current one returns to staging.
 */
export function rollback(state: RegistryState, name: string, now: string, reason = 'rolled back by hand'): Change {
  const next = structuredClone(state)
  const model = next.models[name]
  if (!model) throw new RegistryError('unknown_model', `no model named '${name}' in the registry`)
  const canary = activeCanary(model)
  if (canary) {
    endCanaryIn(model, canary.version, now, reason)
    return { state: validateRegistryState(next), summary: `${name}: canary ${canary.version} stopped (${reason})` }
  }
  const current = productionVersion(model)
  const previous = model.history?.at(-1)
  if (!current || !previous || !model.versions[previous]) {
    throw new RegistryError(
      'nothing_to_roll_back',
      `${name} has no canary and no earlier production version to go back to`,
    )
  }
  model.history = model.history!.slice(0, -1)
  model.versions[current] = { ...model.versions[current]!, stage: 'staging', rolled_back: { at: now, reason } }
  model.versions[previous]!.stage = 'production'
  delete model.canary
  return { state: validateRegistryState(next), summary: `${name}: production is ${previous} again (was ${current})` }
}

/**
 * The gateway's automatic rollback: stops the canary of `version`, if that is still the canary (another gateway, or
 * a person, may have changed it meanwhile; then nothing changes and `undefined` says so).
 */
export function stopCanary(
  state: RegistryState,
  name: string,
  version: string,
  now: string,
  reason: string,
): Change | undefined {
  if (activeCanary(state.models[name])?.version !== version) return undefined
  const next = structuredClone(state)
  endCanaryIn(next.models[name]!, version, now, reason)
  return { state: validateRegistryState(next), summary: `${name}: canary ${version} rolled back (${reason})` }
}

/** The regression gate's verdict on a version (added as staging if the registry did not list it). */
export function recordGate(state: RegistryState, name: string, version: string, verdict: GateVerdict): Change {
  if (!VERSION_PATTERN.test(version)) throw new RegistryError('invalid_version', `version '${version}' is not valid`)
  const next = structuredClone(state)
  next.models[name] ??= { versions: {} }
  const model = next.models[name]
  model.versions[version] = { ...(model.versions[version] ?? { stage: 'staging' }), gate: verdict }
  return {
    state: validateRegistryState(next),
    summary: `${name} ${version}: gate ${verdict.passed ? 'passed' : 'FAILED'}${verdict.summary ? ` (${verdict.summary})` : ''}`,
  }
}

/** What `setFallback` needs to know beyond the state: the versions that exist and both label sets. */
export interface FallbackCheck {
  /** Every version of the fallback's model that exists (state or disk). */
  fallbackVersions: readonly string[]
  /** The labels the model answers in (its production version's), and the fallback's. */
  labels: { primary: readonly string[]; fallback: readonly string[] }
}

/**
 * `fallback NAME MODEL@VERSION`: requests for NAME that would miss their deadline are answered by that version
 * instead, when it would not (brownout). It must exist, differ from NAME's production version, and answer in the same
 * classes, or the client would get a label its model does not know.
 */
export function setFallback(
  state: RegistryState,
  name: string,
  fallback: { model: string; version: string },
  now: string,
  check: FallbackCheck,
): Change {
  if (!VERSION_PATTERN.test(fallback.version))
    throw new RegistryError('invalid_version', `version '${fallback.version}' is not valid`)
  if (!check.fallbackVersions.includes(fallback.version)) {
    const versions = check.fallbackVersions.join(', ') || 'none'
    throw new RegistryError(
      'unknown_version',
      `${fallback.model} has no version '${fallback.version}' (versions: ${versions})`,
    )
  }
  const next = structuredClone(state)
  next.models[name] ??= { versions: {} }
  const model = next.models[name]
  if (fallback.model === name && productionVersion(model) === fallback.version) {
    throw new RegistryError(
      'invalid_fallback',
      `${name} ${fallback.version} is production: a fallback must be another version`,
    )
  }
  if (!sameLabelSet(check.labels.primary, check.labels.fallback)) {
    throw new RegistryError(
      'labels_differ',
      `${fallback.model}@${fallback.version} answers in other classes than ${name} (${check.labels.fallback.length} labels vs ${check.labels.primary.length}, not the same set): clients would get labels ${name} does not know`,
    )
  }
  model.fallback = { model: fallback.model, version: fallback.version, since: now }
  return {
    state: validateRegistryState(next),
    summary: `${name}: requests that would miss their deadline are answered by ${fallback.model}@${fallback.version} (degraded)`,
  }
}

/** `fallback NAME --clear`: no brownout for NAME (requests that would miss their deadline are refused again). */
export function clearFallback(state: RegistryState, name: string): Change {
  const current = fallbackKey(state.models[name])
  if (!current) return { state, summary: `${name}: no fallback was set` }
  const next = structuredClone(state)
  delete next.models[name]!.fallback
  return { state: validateRegistryState(next), summary: `${name}: fallback ${current} cleared (no brownout)` }
}

function endCanaryIn(model: ModelState, version: string, now: string, reason: string): void {
  delete model.canary
  const candidate = model.versions[version]
  if (candidate) model.versions[version] = { ...candidate, stage: 'staging', rolled_back: { at: now, reason } }
}

/** The model, with `version` listed (added as staging if only known on disk); unknown names are refused. */
function knownModel(state: RegistryState, name: string, version: string, known: Known): ModelState {
  const onDisk = known.versions ?? []
  const model = state.models[name]
  if (!model && onDisk.length === 0) throw new RegistryError('unknown_model', `no model named '${name}'`)
  state.models[name] ??= { versions: {} }
  const entry = state.models[name]
  if (!entry.versions[version]) {
    if (!onDisk.includes(version)) {
      const versions = [...new Set([...Object.keys(entry.versions), ...onDisk])].join(', ') || 'none'
      throw new RegistryError('unknown_version', `${name} has no version '${version}' (versions: ${versions})`)
    }
    entry.versions[version] = { stage: 'staging' }
  }
  return entry
}
