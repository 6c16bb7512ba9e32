import { availableParallelism } from 'node:os'
import { type ConfigOf, parse, setting } from '../../../common/config.ts'

/** Where replicas come from (see discovery.ts): spawned here, listed, or resolved from DNS. */
export const discoverySettings = {
  discovery: setting({
    env: 'DISCOVERY',
    flag: 'discovery',
    description: 'Where replicas come from: local (spawned here), static (REPLICAS), dns (REPLICA_DNS_NAME)',
    parse: parse.oneOf(['local', 'static', 'dns']),
    default: 'local' as const,
  }),
  replicas: setting({
    env: 'REPLICAS',
    flag: 'replicas',
    description: 'static: comma-separated replica URLs',
    parse: parse.list(parse.httpUrl()),
    default: [] as string[],
  }),
  replicasFile: setting<string | undefined>({
    env: 'REPLICAS_FILE',
    flag: 'replicas-file',
    description: 'static: a file of replica URLs (one per line), re-read when it changes or on SIGHUP',
    parse: parse.string(),
    default: undefined,
  }),
  dnsName: setting<string | undefined>({
    env: 'REPLICA_DNS_NAME',
    flag: 'replica-dns-name',
    description: 'dns: host name with one address per replica (e.g. a headless Service)',
    parse: parse.string(),
    default: undefined,
  }),
  dnsPort: setting({
    env: 'REPLICA_PORT',
    flag: 'replica-port',
    description: 'dns: port the replicas listen on',
    parse: parse.integer({ min: 1, max: 65535 }),
    default: 8081,
  }),
  dnsIntervalMs: setting({
    env: 'DNS_INTERVAL_MS',
    flag: 'dns-interval-ms',
    description: 'dns: how often the name is re-resolved',
    parse: parse.positiveInteger(),
    default: 5000,
  }),
  localReplicas: setting({
    env: 'LOCAL_REPLICAS',
    flag: 'local-replicas',
    description: 'local: replica processes to run (default: one per core)',
    parse: parse.integer({ min: 0, max: 256 }),
    default: availableParallelism(),
  }),
  localReplicaArgs: setting({
    env: 'LOCAL_REPLICA_ARGS',
    flag: 'local-replica-args',
    description: 'local: extra flags for every replica, e.g. "--max-batch-size 4"',
    parse: (raw) => raw.split(/\s+/).filter((s) => s !== ''),
    default: [] as string[],
  }),
}

export type DiscoveryConfig = ConfigOf<typeof discoverySettings>
