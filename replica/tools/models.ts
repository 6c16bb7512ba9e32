/**
 * `npm run models -- list | promote NAME VERSION | rollback NAME | canary NAME VERSION --weight W | register DIR |
 * fallback NAME MODEL@VERSION [--clear]`:
 * the model registry from the command line. It edits the registry state file every gateway watches.
 */
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, parse, parseConfig, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { replicaConfigSpec } from '../src/config.ts'
import { MODELS_COMMANDS, runModelsCommand } from '../src/model/models-command.ts'

const modelsSpec = {
  command: setting<(typeof MODELS_COMMANDS)[number]>({
    env: 'MODELS_COMMAND',
    flag: 'command',
    description: `What to do: ${MODELS_COMMANDS.join(', ')}`,
    parse: parse.oneOf(MODELS_COMMANDS),
    default: 'list',
    positional: true,
  }),
  target: setting<string | undefined>({
    env: 'MODELS_TARGET',
    flag: 'target',
    description: 'The model NAME (promote, rollback, canary, fallback) or the folder DIR (register)',
    parse: parse.string(),
    default: undefined,
    positional: true,
  }),
  version: setting<string | undefined>({
    env: 'MODELS_VERSION',
    flag: 'model-version',
    description:
      "The VERSION (promote, canary; register: default the manifest's; fallback: MODEL@VERSION, or a VERSION of NAME)",
    parse: parse.string(),
    default: undefined,
    positional: true,
  }),
  weight: setting<number | undefined>({
    env: 'CANARY_WEIGHT',
    flag: 'weight',
    description: 'canary: the share of NAME requests the candidate gets, 0–1 (0 stops the canary)',
    parse: (raw) => {
      const value = raw === '' ? Number.NaN : Number(raw)
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        throw new Error(`weight out of range: expected a share between 0 and 1 (e.g. 0.1 for 10 %)`)
      }
      return value
    },
    default: undefined,
  }),
  force: setting({
    env: 'MODELS_FORCE',
    flag: 'force',
    description: 'promote/canary a version whose last regression gate failed',
    parse: parse.boolean(),
    default: false,
  }),
  clear: setting({
    env: 'MODELS_CLEAR',
    flag: 'clear',
    description: "fallback: remove the model's fallback (requests that would miss their deadline are refused again)",
    parse: parse.boolean(),
    default: false,
  }),
  name: setting<string | undefined>({
    env: 'MODELS_NAME',
    flag: 'name',
    description: "register: the model's name (default: the manifest's, or the folder's for a TF.js model)",
    parse: parse.string(),
    default: undefined,
  }),
  modelsDir: replicaConfigSpec.modelsDir,
  registryFile: registryFileSetting(),
}

function readModelsConfig(source: ConfigSource) {
  // `--force` on its own means true (every other option takes a value).
  const argv = source.argv.map((arg) => (arg === '--force' || arg === '--clear' ? `${arg}=true` : arg))
  const config = parseConfig(modelsSpec, { ...source, argv })
  const needs: Record<string, number> = {
    list: 0,
    rollback: 1,
    promote: 2,
    canary: 2,
    register: 1,
    fallback: config.clear ? 1 : 2,
  }
  const given = [config.target, config.version].filter((v) => v !== undefined).length
  if (given < needs[config.command]!) {
    throw new ConfigError('target', `${config.command}: missing arguments\n\n${USAGE}`)
  }
  return config
}

const USAGE = [
  'npm run models -- list',
  'npm run models -- register DIR [VERSION] [--name NAME]   copy a model folder to MODELS_DIR/<name>/<version>/, as staging',
  'npm run models -- canary NAME VERSION --weight 0.1       send 10 % of NAME requests to VERSION',
  'npm run models -- promote NAME VERSION [--force]         make VERSION production (refused if its gate failed)',
  'npm run models -- rollback NAME                          stop the canary, or go back to the previous production',
  'npm run models -- fallback NAME MODEL@VERSION            brownout: answer (degraded) with MODEL@VERSION what NAME would not in time',
  'npm run models -- fallback NAME --clear                  no fallback: refuse as before',
].join('\n')

const config = configFromCommandLine('models', modelsSpec, readModelsConfig, USAGE)
try {
  const lines = await runModelsCommand({
    command: config.command,
    target: config.target,
    version: config.version,
    weight: config.weight,
    force: config.force,
    clear: config.clear,
    name: config.name,
    modelsDir: config.modelsDir,
    registryFile: config.registryFile,
  })
  console.log(lines.join('\n'))
} catch (error) {
  if (!(error instanceof RegistryError)) throw error
  console.error(`models: ${error.message} (${error.code})`)
  process.exit(1)
}
