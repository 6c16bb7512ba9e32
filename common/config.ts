import { parseArgs } from 'node:util'

/**
 * Configuration is read once, at start-up, from environment variables and command-line flags (flags win),
 * checked against a declared spec, and handed to the rest of the program as a typed, frozen object.
 * Nothing else in Switchyard reads `process.env`.
 */

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly key: string
  constructor(key: string, message: string) {
    super(message)
    this.key = key
  }
}

/**
 * Something a command needs before it can start and did not find: a data directory (`../shared/...`), an input file.
 * The message is one line saying what is missing and how to get it; entry points print it instead of a stack trace.
 */
export class MissingDataError extends Error {
  override name = 'MissingDataError'
}

/** Turns the raw string of one setting into its value, or throws a plain Error describing what is expected. */
export type Parser<T> = (raw: string) => T

export interface Setting<T> {
  /** Environment variable, e.g. `PORT`. */
  env: string
  /** Command-line flag without dashes, e.g. `port` for `--port`. */
  flag: string
  description: string
  parse: Parser<T>
  /** The default, or a function of the settings already parsed (e.g. a worker count from the core count). */
  default: T | ((partial: Record<string, unknown>) => T)
  /** Also taken from a bare argument (`cmd model.json` as well as `cmd --model model.json`), in spec order. */
  positional?: boolean
  /**
   * The setting's former name, still read so that deployments which set it keep working: using it warns once,
   * naming the new one; giving both names is an error.
   */
  formerly?: { env: string; flag: string }
}

export type Spec = Record<string, Setting<unknown>>
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never }

export interface ConfigSource {
  env: Record<string, string | undefined>
  argv: readonly string[]
  /** Where a warning goes (a former setting name used); default: a Node DeprecationWarning on stderr. */
  warn?: (message: string) => void
}

export function setting<T>(s: Setting<T>): Setting<T> {
  return s
}

export function parseConfig<S extends Spec>(spec: S, source: ConfigSource): ConfigOf<S> {
  const options = Object.fromEntries(allFlags(spec).map((flag) => [flag, { type: 'string' as const }]))
  const positional = Object.entries(spec).filter(([, s]) => s.positional)
  let flags: Record<string, string | undefined>
  let bare: string[]
  try {
    const parsed = parseArgs({
      args: attachDashedValues(source.argv, spec),
      options,
      strict: true,
      allowPositionals: positional.length > 0,
    })
    flags = parsed.values as Record<string, string | undefined>
    bare = parsed.positionals
  } catch (error) {
    throw new ConfigError('argv', `${(error as Error).message}\n\n${describeSpec(spec)}`)
  }
  if (bare.length > positional.length) {
    throw new ConfigError(
      'argv',
      `Unexpected argument ${JSON.stringify(bare[positional.length])}\n\n${describeSpec(spec)}`,
    )
  }
  bare.forEach((value, i) => {
    const [key, s] = positional[i]!
    if (flags[s.flag] !== undefined) throw new ConfigError(key, `--${s.flag} given twice: as a flag and as ${value}`)
    flags[s.flag] = value
  })
  const result: Record<string, unknown> = {}
  for (const [key, s] of Object.entries(spec)) {
    const given = givenValue(key, s, flags, source)
    if (given === undefined) {
      result[key] =
        typeof s.default === 'function' ? (s.default as (p: Record<string, unknown>) => unknown)(result) : s.default
      continue
    }
    try {
      result[key] = s.parse(given.raw.trim())
    } catch (error) {
      throw new ConfigError(
        key,
        `Invalid configuration ${given.where}=${JSON.stringify(given.raw)}: ${(error as Error).message}`,
      )
    }
  }
  return Object.freeze(result) as ConfigOf<S>
}

/** Every flag the spec reads, former names included. */
function allFlags(spec: Spec): string[] {
  return Object.values(spec).flatMap((s) => (s.formerly ? [s.flag, s.formerly.flag] : [s.flag]))
}

/**
 * The raw value of one setting and where it came from (`--flag` or `ENV`; flags win), under its name or its former
 * one; undefined when neither is given.
 */
function givenValue(
  key: string,
  s: Setting<unknown>,
  flags: Record<string, string | undefined>,
  source: ConfigSource,
): { raw: string; where: string } | undefined {
  const under = (name: { env: string; flag: string }) => {
    const fromFlag = flags[name.flag]
    if (fromFlag !== undefined) return { raw: fromFlag, where: `--${name.flag}` }
    const fromEnv = source.env[name.env]
    return fromEnv === undefined || fromEnv === '' ? undefined : { raw: fromEnv, where: name.env }
  }
  const current = under(s)
  const former = s.formerly && under(s.formerly)
  if (!former) return current
  if (current) {
    throw new ConfigError(
      key,
      `${current.where} and ${former.where} are the same setting (${s.formerly!.env} is its former name): give only ${current.where}`,
    )
  }
  const warn = source.warn ?? ((message: string) => process.emitWarning(message, 'DeprecationWarning'))
  warn(`${former.where} is deprecated: it is now ${former.where.startsWith('--') ? `--${s.flag}` : s.env}`)
  return former
}

/**
 * Every option takes a value, so in `--scale -1` the `-1` is the value of `--scale` (util.parseArgs would call it
 * ambiguous and never let the setting's own parser say what is wrong with it). Only single-dash words other than
 * `-h` are attached this way: `--target --port 1` still reports the missing value.
 */
function attachDashedValues(argv: readonly string[], spec: Spec): string[] {
  const flags = new Set(allFlags(spec).map((flag) => `--${flag}`))
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = argv[i + 1]
    if (flags.has(arg) && next !== undefined && /^-[^-]/.test(next) && next !== '-h') {
      args.push(`${arg}=${next}`)
      i++
    } else args.push(arg)
  }
  return args
}

/** A default as one would type it: a list comma-separated, a string bare. */
function defaultAsTyped(value: unknown): string {
  if (Array.isArray(value)) return value.join(',')
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A setting's default as help shows it; undefined when it has none or it is computed from other settings. */
export function defaultText(s: Setting<unknown>): string | undefined {
  return typeof s.default === 'function' || s.default === undefined ? undefined : defaultAsTyped(s.default)
}

/** A help text listing every setting, its flag, environment variable and purpose. */
export function describeSpec(spec: Spec): string {
  return Object.values(spec)
    .map((s) => {
      const shown = defaultText(s)
      const fallback = shown === undefined ? '' : ` [${shown}]`
      const bare = s.positional ? ' (or as a bare argument)' : ''
      return `  --${s.flag.padEnd(24)} ${s.env.padEnd(28)} ${s.description}${bare}${fallback}`
    })
    .join('\n')
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h')
}

export const parse = {
  integer({ min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): Parser<number> {
    return (raw) => {
      if (!/^-?\d+$/.test(raw)) throw new Error(`expected an integer between ${min} and ${max}`)
      const value = Number(raw)
      if (value < min || value > max) throw new Error(`expected an integer between ${min} and ${max}`)
      return value
    }
  },
  /** An integer from 1 to `max`: a count or a duration in ms, bounded so that a typo cannot ask for forever. */
  positiveInteger(max = 1_000_000_000): Parser<number> {
    return parse.integer({ min: 1, max })
  },
  /** A finite number within [min, max]; with `above`, strictly greater than it (e.g. a rate that must not be 0). */
  number({
    min = -Infinity,
    max = Infinity,
    above,
  }: {
    min?: number
    max?: number
    above?: number
  } = {}): Parser<number> {
    return (raw) => {
      const value = raw === '' ? Number.NaN : Number(raw)
      if (above !== undefined && !(value > above && value <= max))
        throw new Error(`expected a number above ${above}, at most ${max}`)
      if (!Number.isFinite(value) || value < min || value > max)
        throw new Error(`expected a number in [${min}, ${max}]`)
      return value
    }
  },
  boolean(): Parser<boolean> {
    return (raw) => {
      const lower = raw.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true
      if (['0', 'false', 'no', 'off'].includes(lower)) return false
      throw new Error('expected true/false, 1/0, yes/no or on/off')
    }
  },
  string({ nonEmpty = true } = {}): Parser<string> {
    return (raw) => {
      if (nonEmpty && raw === '') throw new Error('expected a non-empty string')
      return raw
    }
  },
  oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
    return (raw) => {
      if (!(choices as readonly string[]).includes(raw)) throw new Error(`expected one of ${choices.join(', ')}`)
      return raw as T
    }
  },
  httpUrl(): Parser<string> {
    return (raw) => {
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        throw new Error('expected an http(s) URL')
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('expected an http(s) URL')
      return url.href.replace(/\/$/, '')
    }
  },
  list<T>(item: Parser<T>): Parser<T[]> {
    return (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map(item)
  },
}
