/**
 * `npm run stack`: the docker-compose topology without containers — the gateway and its replicas, and Prometheus
 * (Debian package `prometheus`) scraping them with the same configuration. Ctrl-C stops everything.
 */
import { availableParallelism } from 'node:os'
import { ConfigError, describeSpec, parse, parseConfig, setting, wantsHelp } from '../../common/config.ts'
import { startStack } from './stack.ts'

const spec = {
  port: setting({
    env: 'PORT',
    flag: 'port',
    description: 'Gateway port',
    parse: parse.integer({ min: 0, max: 65535 }),
    default: 8080,
  }),
  replicas: setting({
    env: 'LOCAL_REPLICAS',
    flag: 'replicas',
    description: 'Replica processes to start',
    parse: parse.integer({ min: 1, max: 64 }),
    default: availableParallelism(),
  }),
  prometheusPort: setting({
    env: 'PROMETHEUS_PORT',
    flag: 'prometheus-port',
    description: 'Prometheus port',
    parse: parse.integer({ min: 1, max: 65535 }),
    default: 9090,
  }),
}

const argv = process.argv.slice(2)
if (wantsHelp(argv)) {
  console.log(`Usage: npm run stack -- [options]\n\n${describeSpec(spec)}`)
  process.exit(0)
}
let config: ReturnType<typeof parseConfig<typeof spec>>
try {
  // biome-ignore lint/style/noProcessEnv: the entry point is where configuration is read, once
  config = parseConfig(spec, { env: process.env, argv })
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(2)
}

const stack = await startStack({ ...config, onLog: (line) => process.stdout.write(`${line}\n`) }).catch(
  (error: Error) => {
    console.error(`${error.message}\n(Prometheus comes from Debian: apt-get install prometheus)`)
    process.exit(1)
  },
)
console.error(`gateway: ${stack.gatewayUrl}\nprometheus: ${stack.prometheusUrl}\nCtrl-C stops the stack`)
process.once('SIGINT', () => void stack.stop().then(() => process.exit(0)))
process.once('SIGTERM', () => void stack.stop().then(() => process.exit(0)))
