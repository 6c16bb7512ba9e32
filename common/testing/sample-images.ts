import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `../shared/images/imagenet-sample` beside the repository root: 1,000 ImageNet JPEGs, one per class. */
export const SAMPLE_IMAGES_DIR = fileURLToPath(new URL('../../../shared/images/imagenet-sample', import.meta.url))

export interface SampleImage {
  path: string
  name: string
  /** The class index: the file's position in name order. */
  classIndex: number
  bytes: () => Buffer
}

export function sampleImages(): SampleImage[] {
  if (!existsSync(SAMPLE_IMAGES_DIR)) {
    throw new Error(`sample images not found at ${SAMPLE_IMAGES_DIR}: tests need ../shared beside the repository`)
  }
  return readdirSync(SAMPLE_IMAGES_DIR)
    .filter((name) => name.endsWith('.JPEG'))
    .sort()
    .map((name, classIndex) => {
      const path = join(SAMPLE_IMAGES_DIR, name)
      return { path, name, classIndex, bytes: () => readFileSync(path) }
    })
}

/** Every `stride`-th sample image, for tests that want variety without reading all 1,000. */
export function someSampleImages(count: number, stride = 97): SampleImage[] {
  const all = sampleImages()
  return Array.from({ length: count }, (_, i) => all[(i * stride) % all.length]!)
}
