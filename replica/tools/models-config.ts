/** The settings of `npm run models` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { replicaConfigSpec } from '../src/config.ts'
import { MODELS_COMMANDS } from '../src/model/models-command.ts'

export const modelsSpec = {
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

export const MODELS_USAGE = [
  'npm run models -- list',
  'npm run models -- register DIR [VERSION] [--name NAME]   copy a model folder to MODELS_DIR/<name>/<version>/, as staging',
  'npm run models -- canary NAME VERSION --weight 0.1       send 10 % of NAME requests to VERSION',
  'npm run models -- promote NAME VERSION [--force]         make VERSION production (refused if its gate failed)',
  'npm run models -- rollback NAME                          stop the canary, or go back to the previous production',
  'npm run models -- fallback NAME MODEL@VERSION            brownout: answer (degraded) with MODEL@VERSION what NAME would not in time',
  'npm run models -- fallback NAME --clear                  no fallback: refuse as before',
].join('\n')
