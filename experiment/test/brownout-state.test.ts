import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { runRegistryState } from '../src/brownout-state.ts'

const SHARED_MODELS = fileURLToPath(new URL('../../../shared/models', import.meta.url))

test('--brownout sets a fallback for ResNet18 in the run’s own registry state, checked like `npm run models`', async () => {
  assert.deepEqual(await runRegistryState(undefined, SHARED_MODELS), { state: { models: {} }, fallback: undefined })
  const { state, fallback } = await runRegistryState('darknet-tiny', SHARED_MODELS)
  assert.match(fallback!, /^darknet-tiny@tfjs-[0-9a-f]+$/, 'the version on disk, named by the model alone')
  assert.equal(`${state.models.resnet18!.fallback!.model}@${state.models.resnet18!.fallback!.version}`, fallback)
  await assert.rejects(runRegistryState('nope', SHARED_MODELS), RegistryError)
  await assert.rejects(runRegistryState('darknet-tiny@v9', SHARED_MODELS), /no version 'v9'/)
})
