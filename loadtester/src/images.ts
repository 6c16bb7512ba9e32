import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MissingDataError } from '../../common/config.ts'
import { isImageFileName, truthFromFileName } from '../../common/image-labels.ts'

export interface LoadImage {
  name: string
  bytes: Buffer
  /** The true label when the file name carries a synset (`n01440764_tench.JPEG` → "tench"). */
  truth: string | undefined
}

export const DEFAULT_IMAGES_DIR = fileURLToPath(new URL('../../../shared/images/imagenet-sample', import.meta.url))
export const BUNDLED_IMAGES_DIR = fileURLToPath(new URL('../fixtures', import.meta.url))

/** The images to send: every image file in `dir`, in name order; a MissingDataError when there are none. */
export function loadImages(dir: string): LoadImage[] {
  const howToGet =
    '(--images DIR: a folder of JPEG/PNG files; by default ../shared/images/imagenet-sample beside the repository, ' +
    'else the few bundled in loadtester/fixtures)'
  if (!existsSync(dir)) throw new MissingDataError(`image directory ${dir} does not exist ${howToGet}`)
  const names = readdirSync(dir).filter(isImageFileName).sort()
  if (names.length === 0) throw new MissingDataError(`no images in ${dir} ${howToGet}`)
  return names.map((name) => ({ name, bytes: readFileSync(join(dir, name)), truth: truthFromFileName(name) }))
}

/** `../shared/images/imagenet-sample` when it exists, else the few synthetic images bundled here. */
export function defaultImagesDir(): string {
  return existsSync(DEFAULT_IMAGES_DIR) ? DEFAULT_IMAGES_DIR : BUNDLED_IMAGES_DIR
}
