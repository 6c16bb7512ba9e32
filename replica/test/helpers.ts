import { testLogger } from '../../common/testing/silent-logger.ts'
import { loadReplicaConfig } from '../src/config.ts'
import { type RunningReplica, type StartReplicaOptions, startReplica } from '../src/replica.ts'

/** A real replica (real model, real HTTP server) on 127.0.0.1 and a free port. Flags as on the command line. */
export async function startTestReplica(
  flags: string[] = [],
  options: StartReplicaOptions = {},
): Promise<RunningReplica> {
  const config = loadReplicaConfig({
    env: {},
    argv: ['--host', '127.0.0.1', '--port', '0', '--replica-id', 'test-replica', ...flags],
  })
  return startReplica(config, testLogger('replica'), options)
}
