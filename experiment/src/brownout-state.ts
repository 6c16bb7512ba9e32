import { compareVersions } from '../../common/http/model-selection.ts'
import { EMBEDDED_DEFAULT_STATE, type RegistryState } from '../../common/model-registry/state.ts'
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
  const at = brownout.indexOf('@')
  const model = at < 0 ? brownout : brownout.slice(0, at)
  const version =
    at < 0
      ? onDisk
          .filter((v) => v.name === model)
          .map((v) => v.version)
          .sort(compareVersions)
          .at(-1)
      : brownout.slice(at + 1)
  if (version === undefined) {
    throw new RegistryError('unknown_model', `--brownout ${brownout}: no model named '${model}' in ${modelsDir}`)
  }
  const change = await fallbackChange(
    EMBEDDED_DEFAULT_STATE,
    DEFAULT_MODEL,
    `${model}@${version}`,
    onDisk,
    new Date().toISOString(),
  )
  return { state: change.state, fallback: `${model}@${version}` }
}
