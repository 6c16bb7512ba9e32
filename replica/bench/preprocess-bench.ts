/**
 * `npm run bench:preprocess` — where a replica's CPU goes per image, stage by stage, and the preprocessing before and
 * after issue 29 side by side on the same images in one run (the order alternates image by image, so a noisy
 * neighbour on a shared machine hits both alike):
 *   header (sharp metadata) · decode + resize (sharp/libvips, JPEG shrink-on-load as sharp chooses it, and sharp's
 *   conservative setting for comparison) · normalise (the per-channel normaliser before, the fused one after) ·
 *   batch copy (a tensor into the batch buffer, as the engine does) · inference (ResNet18 and darknet-tiny, batch 1,
 *   1 thread).
 * CPU time is process.cpuUsage() (every thread of this process: libvips' and onnxruntime's too) around each stage.
 * Equivalence: the after tensors against the before ones (bit for bit), and darknet-tiny's top-1 on the two
 * shrink-on-load settings over every image (the trained model: its answers are the accuracy that matters).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import ort from 'onnxruntime-node'
import pino from 'pino'
import sharp from 'sharp'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { sameLabel, truthFromFileName } from '../../common/image-labels.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { loadReplicaConfig } from '../src/config.ts'
import { loadModelDefinitions, type ModelDefinition } from '../src/model/registry.ts'
import { centreCrop, cropAndNormalise, decodeAndResize, type PreprocessSpec } from '../src/preprocess.ts'
import { cropAndNormaliseBefore } from './normalise-before.ts'
import { preprocessBenchSpec, preprocessBenchSummary } from './preprocess-bench-config.ts'

const config = configFromCommandLine('bench:preprocess', preprocessBenchSpec, undefined, preprocessBenchSummary)

const images = dataOrExit(() => sampleImages()).slice(0, config.images)
const replicaConfig = loadReplicaConfig({ env: {}, argv: [] })
const definitions = await loadModelDefinitions(replicaConfig, pino({ level: 'error' }))
const resnet18 = definitions[0]!
const darknet = definitions.find((d) => d.info.name === 'darknet-tiny')

const sessionFor = (definition: ModelDefinition) =>
  ort.InferenceSession.create(definition.bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })

/** CPU milliseconds (user + system, all threads) that `f` took. */
async function cpuMs<T>(f: () => T | Promise<T>): Promise<[T, number]> {
  const before = process.cpuUsage()
  const result = await f()
  const used = process.cpuUsage(before)
  return [result, (used.user + used.system) / 1000]
}

async function top1(session: ort.InferenceSession, tensor: Float32Array, size: number): Promise<number> {
  const input = new ort.Tensor('float32', tensor, [1, 3, size, size])
  const output = await session.run({ [session.inputNames[0]!]: input })
  const logits = output[session.outputNames[0]!]!.data as Float32Array
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
  return best
}

const totals = {
  header: 0,
  decodeFast: 0,
  decodeConservative: 0,
  normaliseBefore: 0,
  normaliseAfter: 0,
  copy: 0,
  resnet18: 0,
  darknet: 0,
}
let resnetRuns = 0
let darknetRuns = 0
let maxDifference = 0
const accuracy = { fast: 0, conservative: 0, agree: 0 }

const resnetSpec: PreprocessSpec = { ...resnet18.preprocess, maxInputPixels: replicaConfig.maxInputPixels }
const darknetSpec: PreprocessSpec | undefined = darknet && {
  ...darknet.preprocess,
  maxInputPixels: replicaConfig.maxInputPixels,
}
const resnetSession = await sessionFor(resnet18)
const darknetSession = darknet && (await sessionFor(darknet))
const length = 3 * resnetSpec.inputSize ** 2
const before = new Float32Array(length)
const after = new Float32Array(length)
const batch = new Float32Array(4 * length)

// Warm-up: the JIT, sharp's first pipelines, onnxruntime's first runs.
for (const image of images.slice(0, 5)) {
  const resized = await decodeAndResize(image.bytes(), resnetSpec)
  const crop = centreCrop(resized.width, resized.height, resnetSpec.inputSize)
  cropAndNormaliseBefore(resized.pixels, resized.width, crop, resnetSpec, before)
  cropAndNormalise(resized.pixels, resized.width, crop, resnetSpec, after)
  await top1(resnetSession, after, resnetSpec.inputSize)
}

console.log(`bench:preprocess — ${new Date().toISOString()}, ${images.length} sample images`)
for (const line of describeCpu()) console.log(line)
const started = performance.now()
for (const [i, image] of images.entries()) {
  const bytes = image.bytes()
  const fastFirst = i % 2 === 0
  const decode = (fastShrinkOnLoad: boolean) => cpuMs(() => decodeAndResize(bytes, resnetSpec, { fastShrinkOnLoad }))
  const [, header] = await cpuMs(() => sharp(bytes).metadata())
  totals.header += header
  const first = await decode(fastFirst)
  const second = await decode(!fastFirst)
  const [fast, fastMs] = fastFirst ? first : second
  const [, conservativeMs] = fastFirst ? second : first
  totals.decodeFast += fastMs
  totals.decodeConservative += conservativeMs

  const crop = centreCrop(fast.width, fast.height, resnetSpec.inputSize)
  const timeBefore = () => cpuMs(() => cropAndNormaliseBefore(fast.pixels, fast.width, crop, resnetSpec, before))
  const timeAfter = () => cpuMs(() => cropAndNormalise(fast.pixels, fast.width, crop, resnetSpec, after))
  let beforeMs: number
  let afterMs: number
  if (fastFirst) {
    ;[, beforeMs] = await timeBefore()
    ;[, afterMs] = await timeAfter()
  } else {
    ;[, afterMs] = await timeAfter()
    ;[, beforeMs] = await timeBefore()
  }
  totals.normaliseBefore += beforeMs
  totals.normaliseAfter += afterMs
  for (let k = 0; k < length; k++) maxDifference = Math.max(maxDifference, Math.abs(before[k]! - after[k]!))
  totals.copy += (await cpuMs(() => batch.set(after, (i % 4) * length)))[1]

  if (i % config.inferenceEvery === 0) {
    totals.resnet18 += (await cpuMs(() => top1(resnetSession, after, resnetSpec.inputSize)))[1]
    resnetRuns++
  }
  if (darknetSession && darknetSpec) {
    const tensorOf = async (fastShrinkOnLoad: boolean) => {
      const resized = await decodeAndResize(bytes, darknetSpec, { fastShrinkOnLoad })
      const at = centreCrop(resized.width, resized.height, darknetSpec.inputSize)
      return cropAndNormalise(resized.pixels, resized.width, at, darknetSpec)
    }
    const [fastClass, ms] = await cpuMs(async () => top1(darknetSession, await tensorOf(true), darknetSpec.inputSize))
    const conservativeClass = await top1(darknetSession, await tensorOf(false), darknetSpec.inputSize)
    totals.darknet += ms
    darknetRuns++
    // darknet-tiny's classes are in its own order: compare names with the file's label, as the load tester does.
    const truth = truthFromFileName(image.name) ?? ''
    const right = (index: number) => sameLabel(darknet!.labels[index] ?? '', truth)
    if (right(fastClass)) accuracy.fast++
    if (right(conservativeClass)) accuracy.conservative++
    if (fastClass === conservativeClass) accuracy.agree++
  }
}
const seconds = (performance.now() - started) / 1000

// The sample is ImageNet-sized (most images ~500×375, only ~5 % at least twice the 256 target), so shrink-on-load
// rarely applies there; a phone photo is where it matters: one sample image upscaled to 12 MP, alternating settings.
const photo = await sharp(images[Math.min(500, images.length - 1)]!.bytes())
  .resize(4032, 3024, { fit: 'fill' })
  .jpeg({ quality: 92 })
  .toBuffer()
const photoMs = { fast: 0, conservative: 0, fullDecode: 0 }
const PHOTO_RUNS = 10
for (let run = 0; run < PHOTO_RUNS; run++) {
  for (const fastShrinkOnLoad of run % 2 === 0 ? [true, false] : [false, true]) {
    const [, ms] = await cpuMs(() => decodeAndResize(photo, resnetSpec, { fastShrinkOnLoad }))
    photoMs[fastShrinkOnLoad ? 'fast' : 'conservative'] += ms / PHOTO_RUNS
  }
  // Decoding every pixel (no resize, so no shrink-on-load): a floor under what the resize would cost without it.
  photoMs.fullDecode += (await cpuMs(() => sharp(photo).raw().toBuffer()))[1] / PHOTO_RUNS
}

const n = images.length
const per = (total: number, count = n) => total / Math.max(1, count)
const stages = {
  header: per(totals.header),
  decodeResize: per(totals.decodeFast),
  decodeResizeConservative: per(totals.decodeConservative),
  normaliseBefore: per(totals.normaliseBefore),
  normaliseAfter: per(totals.normaliseAfter),
  batchCopy: per(totals.copy),
  resnet18Inference: per(totals.resnet18, resnetRuns),
  darknetPreprocessAndInference: darknetRuns ? per(totals.darknet, darknetRuns) : null,
}
const preprocessBefore = stages.decodeResize + stages.normaliseBefore
const preprocessAfter = stages.decodeResize + stages.normaliseAfter
const imageBefore = preprocessBefore + stages.batchCopy + stages.resnet18Inference
const imageAfter = preprocessAfter + stages.batchCopy + stages.resnet18Inference
const fmt = (x: number, digits = 2) => x.toFixed(digits)
const lines = [
  '',
  `CPU ms per image (means over ${n} images; inference over ${resnetRuns}), ${fmt(seconds, 0)} s:`,
  '| stage | before | after | after / before |',
  '| --- | ---: | ---: | ---: |',
  `| header (sharp metadata; inside decode + resize too) | ${fmt(stages.header)} | ${fmt(stages.header)} | — |`,
  `| decode + resize (sharp, shrink-on-load as sharp chooses it) | ${fmt(stages.decodeResize)} | ${fmt(stages.decodeResize)} | 1 (unchanged) |`,
  `| normalise (crop, mean/std, CHW) | ${fmt(stages.normaliseBefore, 3)} | ${fmt(stages.normaliseAfter, 3)} | ${fmt(stages.normaliseAfter / stages.normaliseBefore)} |`,
  `| batch copy (engine) | ${fmt(stages.batchCopy, 3)} | ${fmt(stages.batchCopy, 3)} | — |`,
  `| ResNet18 inference, batch 1, 1 thread | ${fmt(stages.resnet18Inference)} | ${fmt(stages.resnet18Inference)} | — |`,
  `| **preprocessing** | ${fmt(preprocessBefore)} | ${fmt(preprocessAfter)} | ${fmt(preprocessAfter / preprocessBefore, 3)} |`,
  `| **image (preprocessing + copy + inference)** | ${fmt(imageBefore)} | ${fmt(imageAfter)} | ${fmt(imageAfter / imageBefore, 3)} |`,
  '',
  `decode + resize with sharp's conservative shrink-on-load (fastShrinkOnLoad: false): ${fmt(stages.decodeResizeConservative)} ms ` +
    `(${fmt(stages.decodeResizeConservative / stages.decodeResize)}× the default's)`,
  `a 12 MP JPEG (4032×3024): decode + resize ${fmt(photoMs.fast)} ms with sharp's shrink-on-load (1/8 by libjpeg), ` +
    `${fmt(photoMs.conservative)} ms with the conservative one (1/4) — ${fmt(photoMs.conservative / photoMs.fast)}×; ` +
    `decoding all its pixels alone (no shrink-on-load at all) ${fmt(photoMs.fullDecode)} ms — ${fmt(photoMs.fullDecode / photoMs.fast)}×`,
  `normalised tensors, after vs before: largest difference ${maxDifference} (0 = identical bit for bit)`,
  darknetRuns
    ? `darknet-tiny top-1 over ${darknetRuns} images: ${fmt((100 * accuracy.fast) / darknetRuns, 1)} % with sharp's ` +
      `shrink-on-load, ${fmt((100 * accuracy.conservative) / darknetRuns, 1)} % with the conservative one; the same ` +
      `class for ${accuracy.agree} of ${darknetRuns} (${fmt((100 * accuracy.agree) / darknetRuns, 1)} %)`
    : 'darknet-tiny not found under ../shared/models: accuracy not measured',
]
console.log(lines.join('\n'))
mkdirSync('out/bench', { recursive: true })
writeFileSync(
  'out/bench/preprocess.json',
  `${JSON.stringify({ cpu: describeCpu(), images: n, resnetRuns, stages, photoMs, maxDifference, accuracy, darknetRuns }, null, 2)}\n`,
)
console.log('\nwritten to out/bench/preprocess.json')
