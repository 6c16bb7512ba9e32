import { configFromCommandLine, dataOrExitAsync } from '../../common/command-line.ts'
import { exitGracefully } from '../../common/graceful-exit.ts'
import { createLogger } from '../../common/logging.ts'
import { loadReplicaConfig, replicaConfigSpec } from './config.ts'
import { startReplica } from './replica.ts'
import { processPhases } from './startup-timing.ts'

// The first statement to run: ES modules evaluate every import first, so this is when they were done.
const entryStartedAt = performance.now()

const config = configFromCommandLine('replica', replicaConfigSpec, loadReplicaConfig)

const logger = createLogger({
  service: 'replica',
  level: config.logLevel,
  format: config.logFormat,
  isTTY: process.stdout.isTTY,
  base: { replica: config.replicaId },
})
const replica = await dataOrExitAsync(() =>
  startReplica(config, logger, {
    processPhases: processPhases(entryStartedAt),
    // A parent watching the start-up (the experiment's local cluster) learns when a prober first saw us ready.
    onFirstReadyAnswer: (atMs) => {
      if (process.connected) process.send?.({ type: 'ready_answered', at_ms: atMs })
    },
  }),
)
// The tokens file: re-read without a restart (it is also watched).
process.on('SIGHUP', () => void replica.tokens?.refresh())
// A parent that spawned us with an IPC channel (the gateway's local discovery, tests) learns the URL this way, and
// where the start-up went; the clock's origin lets it place our phases on its own clock.
process.send?.({
  type: 'ready',
  url: replica.url,
  startup: replica.state.startup,
  time_origin: performance.timeOrigin,
})
process.channel?.unref()
for (const { engine } of replica.models)
  engine.once('exit', (code) => {
    logger.fatal({ code }, 'inference worker died; exiting so the supervisor restarts the replica')
    process.exit(1)
  })

exitGracefully({
  timeoutMs: config.shutdownTimeoutMs + 5000,
  log: logger,
  drain: () => replica.shutdown(config.shutdownTimeoutMs),
})
// A gateway that runs us as a local replica keeps us out of the terminal's process group (its Ctrl-C is for the
// gateway, which drains and then stops us); if that gateway dies without stopping us, its IPC channel closes.
process.once('disconnect', () => process.emit('SIGTERM'))
