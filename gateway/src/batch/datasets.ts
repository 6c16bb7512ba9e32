import type { Dirent } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isImageFileName } from '../../../common/image-labels.ts'
import { isDatasetName } from './dataset-name.ts'

export interface Dataset {
  name: string
  dir: string
  /** Image file names, in name order: a job with a limit takes the first ones. */
  images: string[]
}

/**
 * The named datasets under one directory: each sub-folder is a dataset of the image files directly in it. A name is
 * found by matching the directory's listing, never by joining a client's string into a path and opening it.
 */
export class DatasetCatalog {
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  /** Every dataset, with how many images it holds; none when the directory does not exist. */
  async list(): Promise<{ name: string; images: number }[]> {
    const names = (await this.#folders()).filter(isDatasetName).sort()
    const datasets = await Promise.all(names.map((name) => this.find(name)))
    return datasets.flatMap((dataset) => (dataset ? [{ name: dataset.name, images: dataset.images.length }] : []))
  }

  /** The dataset of that name, or undefined when the name is not a dataset name or no such folder exists. */
  async find(name: string): Promise<Dataset | undefined> {
    if (!isDatasetName(name)) return undefined
    if (!(await this.#folders()).includes(name)) return undefined
    const dir = join(this.root, name)
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[])
    const images = entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && isImageFileName(entry.name))
      .map((entry) => entry.name)
      .sort()
    return { name, dir, images }
  }

  async #folders(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => [] as Dirent[])
    const folders: string[] = []
    for (const entry of entries) {
      // A symbolic link to a folder is a dataset too (an operator's choice, not a client's).
      if (entry.isDirectory() || (entry.isSymbolicLink() && (await isFolder(join(this.root, entry.name))))) {
        folders.push(entry.name)
      }
    }
    return folders
  }
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}
