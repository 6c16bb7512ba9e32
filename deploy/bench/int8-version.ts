import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { readStateFile, writeStateFile } from '../../common/model-registry/state-file.ts'
import { registerVersion } from '../../common/model-registry/transitions.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { runModelsCommand } from '../../replica/src/model/models-command.ts'
import { makeInt8Version } from '../../replica/src/model/quantize/make-int8-version.ts'
import { DEFAULT_MODEL, loadModelDefinitions } from '../../replica/src/model/registry.ts'

export interface Int8Setup {
  /** A models folder holding the int8 version of the default model (and nothing else). */
  modelsDir: string
  /** A registry state in which that version is resnet18's production version. */
  registryFile: string
  version: string
}

/**
 * The int8 side of `bench:e2e --precision fp32,int8`: the ResNet18 the replicas would serve, quantised with
 * `npm run model:quantize`'s defaults into `dir/models` (once: a later run reuses it) and promoted to production in a
 * registry of the benchmark's own, so a stack started with both serves int8 to every `resnet18` request.
 */
export async function prepareInt8Resnet18(dir: string, datasetsDir: string, log: Logger): Promise<Int8Setup> {
  const modelsDir = join(dir, 'models')
  const registryFile = join(dir, 'model-registry.json')
  const config = loadReplicaConfig({ env: {}, argv: ['--models-dir', modelsDir] })
  const [fp32] = await loadModelDefinitions({ ...config, modelsDir: undefined }, log)
  const version = `${fp32!.info.version.replace(/[^A-Za-z0-9._-]/g, '-')}-int8`
  await rm(registryFile, { force: true })
  if (existsSync(join(modelsDir, DEFAULT_MODEL, version))) {
    // A later run keeps the version but starts a fresh registry: staging again, as model:quantize left it. Without
    // that, the only resnet18 version on this folder's disk would be production implicitly, and promote refuses.
    const { state } = await readStateFile(registryFile)
    await writeStateFile(registryFile, registerVersion(state, DEFAULT_MODEL, version, new Date().toISOString()).state)
  } else {
    await makeInt8Version(
      {
        model: DEFAULT_MODEL,
        version: fp32!.info.version,
        outVersion: version,
        datasetsDir,
        dataset: 'imagenet-sample',
        images: 100,
        method: 'mse',
        percentile: 0.9999,
        form: 'qdq',
        registry: config,
        registryFile,
      },
      log,
    )
  }
  const common = { weight: undefined, force: false, name: undefined, modelsDir, registryFile }
  await runModelsCommand({ command: 'promote', target: DEFAULT_MODEL, version, ...common })
  return { modelsDir, registryFile, version }
}
