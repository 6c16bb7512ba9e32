import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Where models live in MODELS_DIR: each sub-folder is a model; it holds one version itself (a `*.manifest.json`, or
 * a TF.js `model.json`: the layout from before versions) and/or one sub-folder per version,
 * `MODELS_DIR/<name>/<version>/`, whose folder names are the model's name and version.
 */
export interface ModelFolder {
  directory: string
  /** The model folder's name (the model's name in the versioned layout). */
  folder: string
  /** The version folder's name; undefined for a model folder holding its version itself. */
  version: string | undefined
}

export async function modelFolders(modelsDir: string): Promise<ModelFolder[]> {
  if (!existsSync(modelsDir)) return []
  const found: ModelFolder[] = []
  for (const folder of await subfolders(modelsDir)) {
    const directory = join(modelsDir, folder)
    if (await holdsModel(directory)) found.push({ directory, folder, version: undefined })
    for (const version of await subfolders(directory)) {
      const versionDirectory = join(directory, version)
      if (await holdsModel(versionDirectory)) found.push({ directory: versionDirectory, folder, version })
    }
  }
  return found
}

/** A folder holds a model when it has a manifest or a TF.js model.json. */
export async function holdsModel(directory: string): Promise<boolean> {
  return (await manifestsIn(directory)).length > 0 || existsSync(join(directory, 'model.json'))
}

export async function manifestsIn(directory: string): Promise<string[]> {
  return (await readdir(directory)).filter((file) => file.endsWith('.manifest.json')).sort()
}

async function subfolders(directory: string): Promise<string[]> {
  return (await readdir(directory, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
}
