/** The settings of `npm run stack` (and its --help summary), importable without running the command. */
import { availableParallelism } from 'node:os'
import { parse, setting } from '../../common/config.ts'

export const stackSpec = {
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
