import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authSettings } from '../../common/auth/settings.ts'
import { ConfigError } from '../../common/config.ts'
import { serviceSettings } from '../../common/service-settings.ts'
import { clusterSettings } from '../src/autoscale/cluster-settings.ts'
import { kubernetesSettings } from '../src/autoscale/kubernetes-settings.ts'
import { autoscaleSettings } from '../src/autoscale/settings.ts'
import { ROUTING_POLICIES } from '../src/balancing/policies.ts'
import { batchSettings } from '../src/batch/settings.ts'
import { gatewayConfigSpec, loadGatewayConfig } from '../src/config.ts'
import { credentialSettings } from '../src/credentials.ts'
import { discoverySettings } from '../src/discovery/settings.ts'
import { dispatchSettings, retrySettings } from '../src/dispatch/settings.ts'
import { replicaHealthSettings, replicaSlotSettings } from '../src/pool/settings.ts'
import { versionSettings } from '../src/versions/settings.ts'

describe('the gateway settings, made of each subsystem’s own', () => {
  test('no two subsystems declare the same setting, environment variable or flag (a spread would hide one)', () => {
    const fragments = [
      serviceSettings(8080, ''),
      authSettings({ predictAuth: false, meaning: '' }),
      credentialSettings,
      discoverySettings,
      replicaSlotSettings,
      dispatchSettings,
      replicaHealthSettings,
      retrySettings,
      autoscaleSettings,
      versionSettings,
      batchSettings,
      kubernetesSettings,
      clusterSettings,
    ]
    const keys = fragments.flatMap((fragment) => Object.keys(fragment))
    assert.deepEqual(keys, Object.keys(gatewayConfigSpec), 'every fragment, in help order, nothing overwritten')
    const settings = Object.values(gatewayConfigSpec)
    const names = settings.flatMap((s) => [s.env, ...(s.formerly ? [s.formerly.env] : [])])
    const flags = settings.flatMap((s) => [s.flag, ...(s.formerly ? [s.formerly.flag] : [])])
    assert.equal(new Set(names).size, names.length, 'environment variables')
    assert.equal(new Set(flags).size, flags.length, 'flags')
  })

  test('ROUTING accepts exactly the routing policies there are', () => {
    for (const name of Object.keys(ROUTING_POLICIES)) {
      assert.equal(loadGatewayConfig({ env: { ROUTING: name }, argv: [] }).routing, name)
    }
    assert.throws(
      () => loadGatewayConfig({ env: { ROUTING: 'fastest' }, argv: [] }),
      (error: unknown) => error instanceof ConfigError && error.key === 'routing',
    )
  })

  test('WORKERS, the former name of MAX_IN_FLIGHT_TO_REPLICAS, still sets it, with a warning naming MAX_IN_FLIGHT_TO_REPLICAS', () => {
    const warnings: string[] = []
    const config = loadGatewayConfig({ env: { WORKERS: '12' }, argv: [], warn: (message) => warnings.push(message) })
    assert.equal(config.maxInFlight, 12)
    assert.deepEqual(warnings, ['WORKERS is deprecated: it is now MAX_IN_FLIGHT_TO_REPLICAS'])
    assert.equal(loadGatewayConfig({ env: {}, argv: ['--max-in-flight-to-replicas', 'auto'] }).maxInFlight, 'auto')
    assert.throws(
      () => loadGatewayConfig({ env: { WORKERS: '12', MAX_IN_FLIGHT_TO_REPLICAS: '12' }, argv: [] }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'maxInFlight' &&
        /MAX_IN_FLIGHT_TO_REPLICAS and WORKERS are the same setting/.test(error.message),
    )
  })
})
