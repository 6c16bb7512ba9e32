import type { FastifyBaseLogger } from 'fastify'
import { configFromCommandLine, dataOrExitAsync } from '../../common/command-line.ts'
import { exitGracefully } from '../../common/graceful-exit.ts'
import { createLogger, relayedLineFormatter, stdoutFor } from '../../common/logging.ts'
import { gatewayConfigSpec, loadGatewayConfig } from './config.ts'
import { startGateway } from './gateway.ts'

const config = configFromCommandLine('gateway', gatewayConfigSpec, loadGatewayConfig)

const logOutput = { format: config.logFormat, isTTY: process.stdout.isTTY }
const stdout = stdoutFor(logOutput)
const logger = createLogger({
  service: 'gateway',
  level: config.logLevel,
  ...logOutput,
  destination: stdout,
}) as FastifyBaseLogger
const formatRelayedLine = relayedLineFormatter(logOutput)
const gateway = await dataOrExitAsync(() =>
  startGateway(config, logger, {
    // Local replicas print JSON lines like ours; relay them (rendered like ours, into the same batches, so whole and in
    // order) so one terminal shows the whole stack.
    onReplicaLog: (line) => stdout.write(formatRelayedLine(line)),
  }),
)
// Replicas file and tokens files: re-read without a restart.
process.on('SIGHUP', () => void gateway.reload())
// A parent that spawned us with an IPC channel (benchmarks, tests) learns the URL this way.
process.send?.({ type: 'ready', url: gateway.url })
process.channel?.unref()

exitGracefully({
  // The queue drains within SHUTDOWN_TIMEOUT_MS; replicas then get theirs.
  timeoutMs: config.shutdownTimeoutMs + 10_000,
  log: logger,
  drain: () => gateway.shutdown(config.shutdownTimeoutMs),
  beforeForcedExit: () => gateway.discovery.terminateNow?.(),
})
// A parent that spawned us (the experiment, a benchmark) and died without stopping us: its IPC channel closes. Drain
// and stop, as a replica does, instead of serving nobody for ever.
process.once('disconnect', () => process.emit('SIGTERM'))
