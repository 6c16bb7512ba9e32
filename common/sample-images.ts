import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MissingDataError } from './config.ts'

/** `../shared/images/imagenet-sample` beside the repository root: 1,000 ImageNet JPEGs, one per class. */
export const SAMPLE_IMAGES_DIR = fileURLToPath(new URL('../../shared/images/imagenet-sample', import.meta.url))

export interface SampleImage {
  path: string
  name: string
  /** The class index: the file's position in name order. */
  classIndex: number
  bytes: () => Buffer
}

/** The sample images in name order; a MissingDataError (one line saying how to get them) when they are missing. */
export function sampleImages(dir = SAMPLE_IMAGES_DIR): SampleImage[] {
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.JPEG'))
        .sort()
    : []
  if (names.length === 0) {
    throw new MissingDataError(
      `sample images not found: ${dir} does not exist or has no .JPEG files; put the ImageNet sample there ` +
        '(1,000 JPEGs named n<synset>_<label>.JPEG, one per class: ../shared/images/imagenet-sample beside the repository)',
    )
  }
  return names.map((name, classIndex) => {
    const path = join(dir, name)
    return { path, name, classIndex, bytes: () => readFileSync(path) }
  })
}

/** Every `stride`-th sample image, for tests that want variety without reading all 1,000. */
export function someSampleImages(count: number, stride = 97, dir = SAMPLE_IMAGES_DIR): SampleImage[] {
  const all = sampleImages(dir)
  return Array.from({ length: count }, (_, i) => all[(i * stride) % all.length]!)
}
