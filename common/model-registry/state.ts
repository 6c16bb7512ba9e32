import { Ajv } from 'ajv'
import type { FromSchema } from 'json-schema-to-ts'

/**
 * The model registry's state: for every model, its known versions with their stage, the canary split if one is
 * set, past production versions (for `rollback`), each version's last regression-gate verdict, and the brownout
 * fallback if one is set. One JSON document, shared by every gateway (a file; a ConfigMap in Kubernetes) and edited
 * by `npm run models` and by the gateway's automatic rollback.
 */
export const MODEL_NAME_PATTERN_SOURCE = '^[a-z0-9][a-z0-9._-]{0,63}$'
export const VERSION_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const VERSION_PATTERN = new RegExp(VERSION_PATTERN_SOURCE)
export const MODEL_NAME_PATTERN = new RegExp(MODEL_NAME_PATTERN_SOURCE)

export const STAGES = ['staging', 'production', 'archived'] as const
export type Stage = (typeof STAGES)[number]

const timestamp = { type: 'string', minLength: 1, description: 'ISO 8601' } as const

export const gateVerdictSchema = {
  type: 'object',
  required: ['passed', 'at'],
  additionalProperties: false,
  properties: {
    passed: { type: 'boolean' },
    at: timestamp,
    summary: { type: 'string' },
    baseline: { type: 'string', description: 'the version it was compared with' },
  },
} as const

export const versionStateSchema = {
  type: 'object',
  required: ['stage'],
  additionalProperties: false,
  properties: {
    stage: { type: 'string', enum: STAGES },
    registered_at: timestamp,
    gate: gateVerdictSchema,
    rolled_back: {
      type: 'object',
      required: ['at', 'reason'],
      additionalProperties: false,
      properties: { at: timestamp, reason: { type: 'string' } },
      description: 'the last time it was taken out of traffic by a rollback, and why',
    },
  },
} as const

export const canarySchema = {
  type: 'object',
  required: ['version', 'weight'],
  additionalProperties: false,
  properties: {
    version: { type: 'string', pattern: VERSION_PATTERN_SOURCE },
    weight: { type: 'number', minimum: 0, maximum: 1, description: 'share of NAME requests sent to the candidate' },
    since: timestamp,
  },
} as const

/**
 * Brownout: the version that answers a request for the model when its own version would miss the request's deadline
 * (and this one would not). Another version of the model (e.g. int8) or another model with the same label set.
 */
export const fallbackSchema = {
  type: 'object',
  required: ['model', 'version'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', pattern: MODEL_NAME_PATTERN_SOURCE },
    version: { type: 'string', pattern: VERSION_PATTERN_SOURCE },
    since: timestamp,
  },
} as const

export const modelStateSchema = {
  type: 'object',
  required: ['versions'],
  additionalProperties: false,
  properties: {
    versions: {
      type: 'object',
      propertyNames: { pattern: VERSION_PATTERN_SOURCE },
      additionalProperties: versionStateSchema,
    },
    canary: canarySchema,
    history: {
      type: 'array',
      items: { type: 'string', pattern: VERSION_PATTERN_SOURCE },
      description: 'earlier production versions, the latest last: what `rollback` goes back to',
    },
    fallback: fallbackSchema,
  },
} as const

export const registryStateSchema = {
  $id: 'ModelRegistryState',
  type: 'object',
  required: ['models'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    models: {
      type: 'object',
      propertyNames: { pattern: MODEL_NAME_PATTERN_SOURCE },
      additionalProperties: modelStateSchema,
    },
  },
} as const

export type RegistryState = FromSchema<typeof registryStateSchema>
export type ModelState = FromSchema<typeof modelStateSchema>
export type VersionState = FromSchema<typeof versionStateSchema>
export type GateVerdict = FromSchema<typeof gateVerdictSchema>
export type Canary = FromSchema<typeof canarySchema>
export type Fallback = FromSchema<typeof fallbackSchema>

/** The state `npm start` runs with until someone writes one: nothing registered, every model on its newest version. */
export const EMBEDDED_DEFAULT_STATE: RegistryState = Object.freeze({ models: {} }) as RegistryState

export class RegistryStateError extends Error {
  override name = 'RegistryStateError'
}

const validateShape = new Ajv({ allErrors: true, strict: true }).compile(registryStateSchema)

/**
 * Checks a parsed document against the schema and the rules a schema cannot say (one production version per
 * model; a canary names a known staging version and needs a production version to split with). Throws a
 * RegistryStateError naming every problem.
 */
export function validateRegistryState(json: unknown): RegistryState {
  if (!validateShape(json)) {
    const problems = (validateShape.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`)
    throw new RegistryStateError(`not a model registry state: ${problems.join('; ')}`)
  }
  const state = json as RegistryState
  const problems: string[] = []
  for (const [name, model] of Object.entries(state.models)) {
    const production = productionVersions(model)
    if (production.length > 1) problems.push(`${name}: ${production.join(', ')} are all production (at most one)`)
    if (model.canary) {
      const candidate = model.versions[model.canary.version]
      if (!candidate) problems.push(`${name}: the canary names version ${model.canary.version}, which is not listed`)
      else if (candidate.stage !== 'staging')
        problems.push(`${name}: the canary ${model.canary.version} is ${candidate.stage}, not staging`)
      if (production.length === 0) problems.push(`${name}: a canary needs a production version to split traffic with`)
    }
  }
  if (problems.length > 0) throw new RegistryStateError(problems.join('; '))
  return state
}

export function productionVersions(model: ModelState): string[] {
  return Object.entries(model.versions)
    .filter(([, v]) => v.stage === 'production')
    .map(([version]) => version)
}

/** The production version the registry names for a model, if it names one. */
export function productionVersion(model: ModelState | undefined): string | undefined {
  return model ? productionVersions(model)[0] : undefined
}

/** The brownout fallback of a model, as `NAME@VERSION`, if one is set. */
export function fallbackKey(model: ModelState | undefined): string | undefined {
  return model?.fallback ? `${model.fallback.model}@${model.fallback.version}` : undefined
}

/** The canary in force: one with a weight above 0. */
export function activeCanary(model: ModelState | undefined): Canary | undefined {
  return model?.canary && model.canary.weight > 0 ? model.canary : undefined
}
