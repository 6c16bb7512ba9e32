/**
 * `npm run stack`: the docker-compose topology without containers — the gateway and its replicas, and Prometheus
 * (Debian package `prometheus`) scraping them with the same configuration. Ctrl-C stops everything.
 */
import { availableParallelism } from 'node:os'
import { configFromCommandLine } from '../../common/command-line.ts'
import { parse, setting } from '../../common/config.ts'
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

const config = configFromCommandLine('stack', spec)

const stack = await startStack({ ...config, onLog: (line) => process.stdout.write(`${line}\n`) }).catch(
  (error: Error) => {
    console.error(`${error.message}\n(Prometheus comes from Debian: apt-get install prometheus)`)
    process.exit(1)
  },
)
console.error(`gateway: ${stack.gatewayUrl}\nprometheus: ${stack.prometheusUrl}\nCtrl-C stops the stack`)
process.once('SIGINT', () => void stack.stop().then(() => process.exit(0)))
process.once('SIGTERM', () => void stack.stop().then(() => process.exit(0)))
