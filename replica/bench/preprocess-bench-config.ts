/** The settings of `npm run bench:preprocess` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const preprocessBenchSpec = {
  images: setting({
    env: 'BENCH_IMAGES',
    flag: 'images',
    description: 'Sample images to run (the first N by name; all 1,000 by default)',
    parse: parse.integer({ min: 10, max: 1000 }),
    default: 1000,
  }),
  inferenceEvery: setting({
    env: 'BENCH_INFERENCE_EVERY',
    flag: 'inference-every',
    description: "Time ResNet18's inference on every N-th image (its cost hardly depends on the image)",
    parse: parse.integer({ min: 1, max: 1000 }),
    default: 10,
  }),
}

export const preprocessBenchSummary =
  'Per-image CPU of each preprocessing stage and of inference, the normaliser before and after side by side, and\n' +
  "darknet-tiny's top-1 with JPEG shrink-on-load as sharp does it and as its conservative setting does. Needs\n" +
  '../shared/images/imagenet-sample (and ../shared/models/darknet-tiny for accuracy); writes out/bench/preprocess.json.'
