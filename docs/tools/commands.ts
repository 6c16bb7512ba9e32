/**
 * Every command of package.json with where its settings are declared, for the generated settings reference
 * (docs/settings.md) and the test that every command the docs show names a real script and flags it accepts.
 * Specs are loaded lazily: a spec's defaults are computed when its module loads (one replica per core, the host
 * name), and the reference loads them on a neutral machine (see settings-reference.ts).
 */
import type { Spec } from '../../common/config.ts'

export interface CommandSettings {
  spec: Spec
  /** The command's --help summary, when it has one. */
  summary?: string
}

export interface Command {
  /** The package.json scripts that run it (`start` and `gateway` are one command). */
  scripts: readonly string[]
  /** Its settings; absent for a command that parses its own arguments (`flags` then lists them). */
  load?: () => Promise<CommandSettings>
  flags?: readonly string[]
}

/** A command whose only arguments are none. */
const none = async (): Promise<CommandSettings> => ({ spec: {} })

export const COMMANDS: readonly Command[] = [
  {
    scripts: ['start', 'gateway'],
    load: async () => ({ spec: (await import('../../gateway/src/config.ts')).gatewayConfigSpec }),
  },
  {
    scripts: ['replica'],
    load: async () => ({ spec: (await import('../../replica/src/config.ts')).replicaConfigSpec }),
  },
  {
    scripts: ['load'],
    load: async () => {
      const m = await import('../../loadtester/src/config.ts')
      return { spec: m.loadConfigSpec, summary: m.loadSummary }
    },
  },
  { scripts: ['workloads'], load: none },
  {
    scripts: ['model:fetch'],
    load: async () => {
      const m = await import('../../replica/tools/model-fetch-config.ts')
      return { spec: m.modelFetchSpec, summary: m.modelFetchSummary }
    },
  },
  {
    scripts: ['model:import'],
    load: async () => {
      const m = await import('../../replica/tools/model-import-config.ts')
      return { spec: m.importSpec, summary: m.modelImportSummary }
    },
  },
  {
    scripts: ['model:quantize'],
    load: async () => {
      const m = await import('../../replica/tools/model-quantize-config.ts')
      return { spec: m.quantizeSpec, summary: m.QUANTIZE_USAGE }
    },
  },
  {
    scripts: ['models'],
    load: async () => {
      const m = await import('../../replica/tools/models-config.ts')
      return { spec: m.modelsSpec, summary: m.MODELS_USAGE }
    },
  },
  {
    scripts: ['gate'],
    load: async () => {
      const m = await import('../../gateway/tools/gate-config.ts')
      return { spec: m.gateSpec, summary: m.gateSummary }
    },
  },
  {
    scripts: ['simulate'],
    load: async () => ({ spec: (await import('../../simulator/src/simulate-config.ts')).simulateSpec }),
  },
  { scripts: ['tune'], load: async () => ({ spec: (await import('../../simulator/src/tune-config.ts')).tuneSpec }) },
  {
    scripts: ['frontier'],
    load: async () => ({ spec: (await import('../../simulator/src/frontier-config.ts')).frontierSpec }),
  },
  {
    scripts: ['experiment'],
    load: async () => ({ spec: (await import('../../experiment/src/config.ts')).experimentSpec }),
  },
  { scripts: ['stack'], load: async () => ({ spec: (await import('../../deploy/stack/config.ts')).stackSpec }) },
  {
    scripts: ['healthcheck'],
    load: async () => {
      const m = await import('../../common/healthcheck-config.ts')
      return { spec: m.healthcheckSpec, summary: m.healthcheckSummary }
    },
  },
  { scripts: ['alerts:k8s'], load: none },
  {
    scripts: ['bench:gateway'],
    load: async () => {
      const m = await import('../../gateway/bench/gateway-bench-config.ts')
      return { spec: m.gatewayBenchSpec, summary: m.gatewayBenchSummary }
    },
  },
  {
    scripts: ['bench:gateways'],
    load: async () => {
      const m = await import('../../gateway/bench/multi-gateway-bench-config.ts')
      return { spec: m.multiGatewayBenchSpec, summary: m.multiGatewayBenchSummary }
    },
  },
  {
    scripts: ['bench:overload'],
    load: async () => {
      const m = await import('../../gateway/bench/overload-bench-config.ts')
      return { spec: m.overloadBenchSpec, summary: m.overloadBenchSummary }
    },
  },
  {
    scripts: ['bench:batch'],
    load: async () => {
      const m = await import('../../gateway/bench/batch-bench-config.ts')
      return { spec: m.batchBenchSpec, summary: m.batchBenchSummary }
    },
  },
  {
    scripts: ['bench:upload-burst'],
    load: async () => {
      const m = await import('../../gateway/bench/upload-burst-bench-config.ts')
      return { spec: m.uploadBurstBenchSpec, summary: m.uploadBurstBenchSummary }
    },
  },
  { scripts: ['soak'], load: async () => ({ spec: (await import('../../gateway/bench/soak-config.ts')).soakSpec }) },
  {
    scripts: ['bench:replica'],
    load: async () => {
      const m = await import('../../replica/bench/replica-bench-config.ts')
      return { spec: m.replicaBenchSpec, summary: m.replicaBenchSummary }
    },
  },
  {
    scripts: ['bench:preprocess'],
    load: async () => {
      const m = await import('../../replica/bench/preprocess-bench-config.ts')
      return { spec: m.preprocessBenchSpec, summary: m.preprocessBenchSummary }
    },
  },
  {
    scripts: ['bench:e2e'],
    load: async () => {
      const m = await import('../../deploy/bench/e2e-bench-config.ts')
      return { spec: m.e2eBenchSpec, summary: m.e2eBenchSummary }
    },
  },
  {
    scripts: ['bench:loadtester'],
    load: async () => {
      const m = await import('../../loadtester/bench/loadtester-bench-config.ts')
      return { spec: m.loadtesterBenchSpec, summary: m.loadtesterBenchSummary }
    },
  },
  { scripts: ['bench:service-time'], load: none },
  {
    scripts: ['bench:startup'],
    load: async () => {
      const m = await import('../../experiment/bench/startup-bench-config.ts')
      return { spec: m.startupBenchSpec, summary: m.startupBenchSummary }
    },
  },
  // Test files as bare arguments and one option of its own (common/testing/test-repeat.ts).
  { scripts: ['test:repeat'], flags: ['times'] },
  { scripts: ['docs:settings'], load: none },
]

/** The command a script runs, if it is one of ours. */
export function commandOf(script: string): Command | undefined {
  return COMMANDS.find((c) => c.scripts.includes(script))
}

/** The flags (without dashes) a command accepts; every command also answers --help. */
export async function flagsOf(command: Command): Promise<Set<string>> {
  const declared = command.load ? Object.values((await command.load()).spec).map((s) => s.flag) : []
  return new Set([...declared, ...(command.flags ?? []), 'help'])
}
