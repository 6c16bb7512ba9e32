import { EMBEDDED_DEFAULT_STATE, fallbackKey, type RegistryState } from '../../common/model-registry/state.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { diskVersions } from '../../replica/src/model/disk-versions.ts'
import { fallbackChange } from '../../replica/src/model/models-command.ts'
import { DEFAULT_MODEL } from '../../replica/src/model/registry.ts'

/**
 * The registry state a run's gateway reads: empty (no brownout), or with `--brownout MODEL[@VERSION]` set as the
 * fallback of the model the load tester asks for (the replicas' default, ResNet18), checked as `npm run models --
 * fallback` checks it (it exists in the models folder, with the same label set). Without a version, the newest on disk.
 */
export async function runRegistryState(
  brownout: string | undefined,
  modelsDir: string | undefined,
): Promise<{ state: RegistryState; fallback: string | undefined }> {
  if (brownout === undefined) return { state: EMBEDDED_DEFAULT_STATE, fallback: undefined }
  const onDisk = await diskVersions(modelsDir)
  const model = brownout.split('@')[0]!
  if (!onDisk.some((v) => v.name === model)) {
    throw new RegistryError('unknown_model', `no model named '${model}' in ${modelsDir ?? 'no models folder'}`)
  }
  const change = await fallbackChange(EMBEDDED_DEFAULT_STATE, DEFAULT_MODEL, brownout, onDisk, new Date().toISOString())
  return { state: change.state, fallback: fallbackKey(change.state.models[DEFAULT_MODEL]) }
}
