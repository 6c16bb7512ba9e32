import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tfjsVersionOf } from './importer/import-tfjs.ts'
import { readManifest } from './manifest.ts'
import { manifestsIn, modelFolders } from './model-folders.ts'

/** A model version as found on disk, named as a replica will serve it (without loading the model). */
export interface DiskVersion {
  name: string
  version: string
  directory: string
}

/** Every version in MODELS_DIR; a folder that cannot be read is skipped (a replica logs why when it loads it). */
export async function diskVersions(modelsDir: string | undefined): Promise<DiskVersion[]> {
  if (!modelsDir) return []
  const found: DiskVersion[] = []
  for (const { directory, folder, version } of await modelFolders(modelsDir)) {
    try {
      if (version !== undefined) {
        found.push({ name: folder, version, directory })
        continue
      }
      const manifests = await manifestsIn(directory)
      if (manifests.length === 0) {
        found.push({ name: folder, version: await tfjsVersion(directory), directory })
        continue
      }
      for (const file of manifests) {
        const manifest = await readManifest(join(directory, file))
        found.push({ name: manifest.name, version: manifest.version, directory })
      }
    } catch {
      // Not servable as it is; not a version.
    }
  }
  return found
}

/** The version a replica gives a TF.js model it converts. */
export async function tfjsVersion(directory: string): Promise<string> {
  const bytes = await readFile(join(directory, 'model.json'))
  return tfjsVersionOf(createHash('sha256').update(bytes).digest('hex'))
}
