/** The settings of `npm run model:fetch` (and its --help summary), importable without running the command. */
import { replicaConfigSpec } from '../src/config.ts'

export const modelFetchSummary =
  'Downloads the pretrained ResNet18 (ONNX Model Zoo resnet18-v2-7) into the model cache, verifying its sha256.'

export const modelFetchSpec = {
  modelCacheDir: replicaConfigSpec.modelCacheDir,
  downloadTimeoutMs: replicaConfigSpec.downloadTimeoutMs,
}
