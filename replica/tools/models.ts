/**
 * `npm run models -- list | promote NAME VERSION | rollback NAME | canary NAME VERSION --weight W | register DIR |
 * fallback NAME MODEL@VERSION [--clear]`:
 * the model registry from the command line. It edits the registry state file every gateway watches.
 */
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, parseConfig } from '../../common/config.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { runModelsCommand } from '../src/model/models-command.ts'
import { MODELS_USAGE, modelsSpec } from './models-config.ts'

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
    throw new ConfigError('target', `${config.command}: missing arguments\n\n${MODELS_USAGE}`)
  }
  return config
}

const config = configFromCommandLine('models', modelsSpec, readModelsConfig, MODELS_USAGE)
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
