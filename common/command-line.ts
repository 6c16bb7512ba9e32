import {
  ConfigError,
  type ConfigOf,
  type ConfigSource,
  describeSpec,
  parseConfig,
  type Spec,
  wantsHelp,
} from './config.ts'

/**
 * The configuration of an entry point (`npm run <command>`), read once from the environment and the flags:
 * `--help` prints every option and exits 0; a bad value prints the error naming the setting and exits 2.
 */
export function configFromCommandLine<S extends Spec, C = ConfigOf<S>>(
  command: string,
  spec: S,
  load: (source: ConfigSource) => C = (source) => parseConfig(spec, source) as C,
): C {
  const argv = process.argv.slice(2)
  if (wantsHelp(argv)) {
    console.log(`Usage: npm run ${command} -- [options]   (each option can also be set by its environment variable)\n`)
    console.log(describeSpec(spec))
    process.exit(0)
  }
  try {
    // biome-ignore lint/style/noProcessEnv: the entry point is where configuration is read, once
    return load({ env: process.env, argv })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(2)
  }
}
