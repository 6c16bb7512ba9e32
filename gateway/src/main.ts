import closeWithGrace from 'close-with-grace'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { ConfigError, describeSpec, wantsHelp } from '../../common/config.ts'
import { gatewayConfigSpec, loadGatewayConfig } from './config.ts'
import { startGateway } from './gateway.ts'

const argv = process.argv.slice(2)
if (wantsHelp(argv)) {
  console.log('Usage: npm run gateway -- [options]   (each option can also be set by its environment variable)\n')
  console.log(describeSpec(gatewayConfigSpec))
  process.exit(0)
}

let config: ReturnType<typeof loadGatewayConfig>
try {
  // biome-ignore lint/style/noProcessEnv: the entry point is where configuration is read, once
  config = loadGatewayConfig({ env: process.env, argv })
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(2)
}

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
