/** The settings of `npm run bench:gateway` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const PARTS = ['latency', 'throughput', 'uneven'] as const
export type Part = (typeof PARTS)[number]

export const gatewayBenchSpec = {
  baselineGateway: setting<string | undefined>({
    env: 'BENCH_BASELINE_GATEWAY',
    flag: 'baseline-gateway',
    description:
      "Another checkout's gateway/src/main.ts (a worktree of the commit before a change): runs beside this one in " +
      'every part, as "switchyard (baseline)", so before and after compare in one run',
    parse: parse.string(),
    default: undefined,
  }),
  runs: setting({
    env: 'BENCH_RUNS',
    flag: 'runs',
    description:
      'Runs of each part; contenders go in the opposite order every other run (the first one measures slower). ' +
      'The uneven pool runs every contender once, then only those its target compares, each further run',
    parse: parse.integer({ min: 1, max: 10 }),
    default: 3,
  }),
  parts: setting<Part[]>({
    env: 'BENCH_PARTS',
    flag: 'parts',
    description: `Which parts to run, comma-separated: ${PARTS.join(', ')}`,
    parse: parse.list(parse.oneOf(PARTS)),
    default: [...PARTS],
  }),
  cpuProf: setting<string | undefined>({
    env: 'BENCH_CPU_PROF',
    flag: 'cpu-prof',
    description:
      'Directory: after the throughput runs, one more each (not counted) with the gateway and the bare Node proxy ' +
      'under node --cpu-prof; the profiles are written there and their top frames by self time are printed',
    parse: parse.string(),
    default: undefined,
  }),
}

export const gatewayBenchSummary =
  "Switchyard's gateway against bare Node and Fastify proxies, nginx and HAProxy (when installed) in front of the same stub\n" +
  'replicas: added latency, throughput, an uneven pool at 80 % load, each run --runs times (best and every run\n' +
  'shown, with the ratios the targets name). Needs the sample images (../shared/images/imagenet-sample); writes\n' +
  'out/bench/gateway.json and the printed report to out/bench/gateway.txt.'
