/** The settings of `npm run bench:replica` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'
import { modelSourceSettings } from '../src/config.ts'

export const replicaBenchSummary =
  'How close the replica over HTTP gets to onnxruntime + sharp timed bare: saturation per batch setting, latency at\n' +
  '50 % load, every model served. Needs the sample images (../shared/images/imagenet-sample); writes out/bench/replica.json.\n' +
  'With --compare resnet18@V,resnet18@V-int8: those versions side by side (out/bench/replica-compare.json).'

export const replicaBenchSpec = {
  compare: setting({
    env: 'BENCH_COMPARE',
    flag: 'compare',
    description:
      'Versions to compare instead, NAME@VERSION,… (e.g. fp32 and int8): inference per CPU-second and the replica at saturation',
    parse: parse.list(parse.string()),
    default: [] as string[],
  }),
  ...modelSourceSettings,
}
