/** The settings of `npm run bench:e2e` (and its --help summary), importable without running the command. */
import { availableParallelism } from 'node:os'
import { parse, setting } from '../../common/config.ts'

/** `key=value,key=value;key=value,…` → one object per layout, every key known and a positive integer. */
export function layouts<K extends string>(keys: readonly K[], allowDefault: boolean) {
  return (raw: string): Partial<Record<K, number>>[] =>
    raw
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((spec) => {
        if (spec === 'default' && allowDefault) return {}
        const layout: Partial<Record<K, number>> = {}
        for (const pair of spec.split(',')) {
          const [key, value] = pair.split('=').map((s) => s.trim())
          if (!keys.includes(key as K)) throw new Error(`unknown key "${key}" in "${spec}" (known: ${keys.join(', ')})`)
          const n = Number(value)
          if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`${key} must be an integer 1–256 in "${spec}"`)
          layout[key as K] = n
        }
        return layout
      })
}

export const CORES = availableParallelism()

export const BOUND_KEYS = ['procs', 'threads', 'batch', 'inflight', 'sharp'] as const
export const STACK_KEYS = ['replicas', 'threads', 'slots', 'batch', 'sharp', 'lend'] as const
export const DEFAULT_BOUND_LAYOUTS =
  `procs=${CORES},threads=1,batch=1,inflight=2;procs=${CORES},threads=1,batch=4,inflight=8;` +
  `procs=${CORES},threads=1,batch=8,inflight=16;procs=1,threads=${CORES},batch=4,inflight=8;` +
  `procs=1,threads=${CORES},batch=8,inflight=16`

export const e2eBenchSpec = {
  boundLayouts: setting({
    env: 'BENCH_BOUND_LAYOUTS',
    flag: 'bound-layouts',
    description:
      'Layouts of the bare pipeline, ";"-separated: procs (processes), threads (onnxruntime intra-op), batch (largest ' +
      `micro-batch), inflight (predictions in flight per process), sharp (libvips threads per image) [${DEFAULT_BOUND_LAYOUTS}]`,
    parse: layouts(BOUND_KEYS, false),
    default: () => layouts(BOUND_KEYS, false)(DEFAULT_BOUND_LAYOUTS),
  }),
  stackLayouts: setting({
    env: 'BENCH_STACK_LAYOUTS',
    flag: 'stack-layouts',
    description:
      'Stacks to measure, ";"-separated: "default" (npm start as it is), or replicas (LOCAL_REPLICAS = MAX_REPLICAS), ' +
      'threads (INTRA_OP_THREADS), slots (REPLICA_SLOTS), batch (MAX_BATCH_SIZE), sharp (SHARP_CONCURRENCY), lend ' +
      '(REPLICA_SLOTS_WHEN_QUEUED); unset keys keep their defaults, e.g. "default;replicas=2,slots=2,batch=4;lend=6" ["default"]',
    parse: layouts(STACK_KEYS, true),
    default: () => layouts(STACK_KEYS, true)('default'),
  }),
  boundSeconds: setting({
    env: 'BENCH_BOUND_SECONDS',
    flag: 'bound-seconds',
    description: 'Measured window of each bound layout (after a 3 s warm-up)',
    parse: parse.integer({ min: 2, max: 600 }),
    default: 8,
  }),
  seconds: setting({
    env: 'BENCH_SECONDS',
    flag: 'seconds',
    description: 'Measured window of each stack (after the warm-up)',
    parse: parse.integer({ min: 5, max: 600 }),
    default: 20,
  }),
  inFlight: setting<number | 'auto'>({
    env: 'BENCH_IN_FLIGHT',
    flag: 'in-flight',
    description:
      'Most requests the load tester keeps in flight (its --concurrency-cap; due requests beyond it are not sent): ' +
      "auto = 2 × the stack's replica slots (lent ones included) + 2, enough that the gateway always has work queued; 0 = uncapped, " +
      'so the overload is refused (503) and refusals cost CPU too',
    parse: (raw) => (raw === 'auto' ? 'auto' : parse.integer({ min: 0, max: 100_000 })(raw)),
    default: 'auto',
  }),
  loadFractions: setting({
    env: 'BENCH_LOAD_FRACTIONS',
    flag: 'load-fractions',
    description:
      "After each stack's saturation phase, latency phases at these fractions of the FIRST stack's goodput of the same " +
      'precision (the same rates for every stack of a precision, so layouts compare at equal load; each precision at its ' +
      'own share), open loop with no in-flight cap, e.g. "0.5,0.9" [none]',
    parse: (raw) =>
      raw
        .split(',')
        .filter((s) => s.trim() !== '')
        .map((s) => parse.number({ min: 0.05, max: 2 })(s.trim())),
    default: () => [] as number[],
  }),
  warmUp: setting({
    env: 'BENCH_WARM_UP_S',
    flag: 'warm-up',
    description: 'Seconds of load before a stack is measured',
    parse: parse.integer({ min: 1, max: 120 }),
    default: 5,
  }),
  precisions: setting({
    env: 'BENCH_PRECISION',
    flag: 'precision',
    description:
      'Precisions of ResNet18 to measure, comma-separated, each with its own bound and stacks: fp32 (as provisioned), ' +
      'int8 (quantised by model:quantize, promoted to production for the stack)',
    parse: (raw) => {
      const list = parse.list(parse.oneOf(['fp32', 'int8'] as const))(raw)
      if (list.length === 0) throw new Error('expected fp32, int8 or fp32,int8')
      return [...new Set(list)]
    },
    default: ['fp32'] as ('fp32' | 'int8')[],
  }),
  overload: setting({
    env: 'BENCH_OVERLOAD',
    flag: 'overload',
    description:
      'Offered load on a stack, as a multiple of the bound (or of its images per CPU-second × cores, if more: on a ' +
      'shared machine); above 1, the stack is never short of work',
    parse: parse.number({ min: 1, max: 10 }),
    default: 1.1,
  }),
}

export const e2eBenchSummary =
  "The stack at the machine's bound, in one run: (a) the replica's pipeline bare (no HTTP) in the best layout found,\n" +
  '(b) the stack as npm start runs it (and --stack-layouts) at saturation through the gateway, the load tester in its\n' +
  'own process, (c) their ratio; cores used per process and CPU ms per answer; with --load-fractions, latency below\n' +
  'saturation; with --precision fp32,int8, all of it for each precision, side by side. Needs\n' +
  '../shared/images/imagenet-sample; writes out/bench/e2e.json and out/bench/e2e.md.'
