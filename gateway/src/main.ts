import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { configFromCommandLine } from '../../common/command-line.ts'
import { gatewayConfigSpec, loadGatewayConfig } from './config.ts'
import { startGateway } from './gateway.ts'

const config = configFromCommandLine('gateway', gatewayConfigSpec, loadGatewayConfig)

const logger = pino({ level: config.logLevel, base: { service: 'gateway' } }) as FastifyBaseLogger
const gateway = await startGateway(config, logger, {
  // Local replicas print JSON lines like ours; pass them through so one terminal shows the whole stack.
  onReplicaLog: (line) => process.stdout.write(`${line}\n`),
})
process.on('SIGHUP', () => void gateway.discovery.refresh())
// A parent that spawned us with an IPC channel (benchmarks, tests) learns the URL this way.
process.send?.({ type: 'ready', url: gateway.url })
process.channel?.unref()

closeWithGrace({ delay: config.shutdownTimeoutMs + 10_000, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'fatal error, shutting down')
  logger.info({ signal }, 'draining before exit')
  await gateway.shutdown(config.shutdownTimeoutMs)
})
