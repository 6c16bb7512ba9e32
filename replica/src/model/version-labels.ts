import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadImagenetClasses } from '../labels.ts'
import type { DiskVersion } from './disk-versions.ts'
import { readLabels, readManifest } from './manifest.ts'
import { manifestsIn } from './model-folders.ts'
import { DEFAULT_MODEL } from './registry.ts'

/**
 * The class names a model version answers in, read from its folder without loading the model: its manifest's labels
 * file, or a TF.js folder's labels.json. ResNet18 with no folder of its own is the one every replica provisions,
 * which answers in the ImageNet classes. Undefined when the version is nowhere to be found.
 */
export async function labelsOfVersion(
  onDisk: readonly DiskVersion[],
  name: string,
  version: string | undefined,
): Promise<string[] | undefined> {
  const found = onDisk.find((v) => v.name === name && (version === undefined || v.version === version))
  if (!found) return name === DEFAULT_MODEL ? loadImagenetClasses().map((c) => c.label) : undefined
  const manifests = await Promise.all(
    (await manifestsIn(found.directory)).map((file) => readManifest(join(found.directory, file))),
  )
  // A folder of several manifests: the one naming this version; a version folder's single manifest is its own
  // (the folder names it).
  const manifest = manifests.find((m) => m.name === name && m.version === found.version) ?? manifests[0]
  if (manifest) return readLabels(join(manifest.directory, manifest.labels))
  const tfjsLabels = join(found.directory, 'labels.json')
  return existsSync(tfjsLabels) ? readLabels(tfjsLabels) : undefined
}
