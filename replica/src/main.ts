import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { configFromCommandLine } from '../../common/command-line.ts'
import { loadReplicaConfig, replicaConfigSpec } from './config.ts'
import { startReplica } from './replica.ts'

const config = configFromCommandLine('replica', replicaConfigSpec, loadReplicaConfig)

const logger = pino({ level: config.logLevel, base: { service: 'replica', replica: config.replicaId } })
const replica = await startReplica(config, logger)
// A parent that spawned us with an IPC channel (the gateway's local discovery, tests) learns the URL this way.
process.send?.({ type: 'ready', url: replica.url })
process.channel?.unref()
for (const { engine } of replica.models)
  engine.once('exit', (code) => {
    logger.fatal({ code }, 'inference worker died; exiting so the supervisor restarts the replica')
    process.exit(1)
  })

closeWithGrace({ delay: config.shutdownTimeoutMs + 5000, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'fatal error, shutting down')
  logger.info({ signal }, 'draining before exit')
  await replica.shutdown(config.shutdownTimeoutMs)
})
