import {
  ConfigError,
  type ConfigOf,
  type ConfigSource,
  describeSpec,
  MissingDataError,
  parseConfig,
  type Spec,
  wantsHelp,
} from './config.ts'

/**
 * The configuration of an entry point (`npm run <command>`), read once from the environment and the flags:
 * `--help` prints every option (after `summary`, when given) and exits 0 before anything else happens; a bad value
 * prints the error naming the setting and exits 2; data `load` needs and does not find (a MissingDataError) is one
 * line and exit 1. Call it before the command does any work, so `--help` never runs the job.
 */
export function configFromCommandLine<S extends Spec, C = ConfigOf<S>>(
  command: string,
  spec: S,
  load: (source: ConfigSource) => C = (source) => parseConfig(spec, source) as C,
  summary?: string,
): C {
  const argv = process.argv.slice(2)
  if (wantsHelp(argv)) {
    console.log(usage(command, spec, summary))
    process.exit(0)
  }
  try {
    // biome-ignore lint/style/noProcessEnv: the entry point is where configuration is read, once
    return load({ env: process.env, argv })
  } catch (error) {
    if (error instanceof MissingDataError) exitMissingData(error)
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(2)
  }
}

/** The `--help` text of a command: how to call it, what it does, and every option. */
export function usage(command: string, spec: Spec, summary?: string): string {
  const hasOptions = Object.keys(spec).length > 0
  const lines = [
    hasOptions
      ? `Usage: npm run ${command} -- [options]   (each option can also be set by its environment variable)`
      : `Usage: npm run ${command}   (no options)`,
  ]
  if (summary) lines.push('', summary)
  if (hasOptions) lines.push('', describeSpec(spec))
  return lines.join('\n')
}

/**
 * Reads what a command needs before it starts working (sample images, workload files, …): when some of it is missing
 * (a MissingDataError) the command prints that one line on stderr and exits 1, instead of dying with a stack trace.
 */
export function dataOrExit<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (error instanceof MissingDataError) exitMissingData(error)
    throw error
  }
}

/** dataOrExit for a start-up that is asynchronous (a service reading its tokens file before it listens). */
export async function dataOrExitAsync<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof MissingDataError) exitMissingData(error)
    throw error
  }
}

function exitMissingData(error: MissingDataError): never {
  console.error(error.message)
  process.exit(1)
}
