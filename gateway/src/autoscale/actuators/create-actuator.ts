import type { FastifyBaseLogger } from 'fastify'
import type { Discovery } from '../../discovery/discovery.ts'
import type { LocalReplicas } from '../../discovery/local.ts'
import type { ReplicaPool } from '../../pool/replica-pool.ts'
import type { Actuator } from '../autoscaler.ts'
import { type KubernetesConfig, kubernetesTarget } from '../kubernetes-settings.ts'
import type { AutoscaleConfig } from '../settings.ts'
import { type KubernetesActuator, kubernetesActuator } from './kubernetes.ts'
import { localActuator } from './local.ts'

/**
 * The actuator AUTOSCALER names (resolved: never undefined), or none. `local` scales the replica processes of local
 * discovery, which config validation guarantees it has.
 */
export async function createActuator(
  config: Pick<AutoscaleConfig, 'standbyCpu'> & KubernetesConfig & { autoscaler: 'none' | 'local' | 'kubernetes' },
  discovery: Discovery,
  pool: ReplicaPool,
): Promise<Actuator | undefined> {
  switch (config.autoscaler) {
    case 'none':
      return undefined
    case 'local':
      return localActuator(discovery as LocalReplicas, pool)
    case 'kubernetes':
      return kubernetesActuator(kubernetesTarget(config))
  }
}

/**
 * The replica Deployment's size when this gateway starts: its first scale-down window counts it as a recent
 * recommendation, so a gateway that restarts (a rolling update) does not shrink a pool it has not measured yet.
 */
export async function currentScale(actuator: Actuator | undefined, logger: FastifyBaseLogger): Promise<number> {
  if (actuator?.name !== 'kubernetes') return 0
  try {
    return await (actuator as KubernetesActuator).current()
  } catch (error) {
    logger.warn({ err: error }, 'could not read the replica Deployment scale; starting from none')
    return 0
  }
}
