import { fileURLToPath } from 'node:url'
import { parse, setting } from '../config.ts'

/** Where `npm start` and `npm run models` keep the registry state unless told otherwise (never committed). */
export const DEFAULT_REGISTRY_FILE = fileURLToPath(new URL('../../.switchyard/model-registry.json', import.meta.url))

/** The registry state file setting, spelled the same for the gateway, `npm run models` and the gate. */
export function registryFileSetting() {
  return setting({
    env: 'MODEL_REGISTRY_FILE',
    flag: 'model-registry-file',
    description:
      'Model registry state (stages, canary weights, gate verdicts), a JSON file watched for changes; missing = every model on its newest version',
    parse: parse.string(),
    default: DEFAULT_REGISTRY_FILE,
  })
}
