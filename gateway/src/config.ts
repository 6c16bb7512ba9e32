import { availableParallelism, hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { authSettings } from '../../common/auth/settings.ts'
import { ConfigError, type ConfigOf, type ConfigSource, parse, parseConfig, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { serviceSettings } from '../../common/service-settings.ts'
import { cpuMillicores } from './autoscale/cpu-quantity.ts'
import { parseStandbySetting, type StandbySetting } from './autoscale/standby-count.ts'

const positiveInt = (max = 1_000_000_000) => parse.integer({ min: 1, max })

// Beside the repository in development and CI, like the replicas' MODELS_DIR; in a container, mount them and set these.
const DEFAULT_DATASETS_DIR = fileURLToPath(new URL('../../../shared/images', import.meta.url))
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data', import.meta.url))

export const gatewayConfigSpec = {
  ...serviceSettings(8080, 'the queue may take to drain'),
  ...authSettings({ predictAuth: false, meaning: '(default: predictions, like the web page, stay open)' }),
  peerTokenFile: setting<string | undefined>({
    env: 'PEER_TOKEN_FILE',
    flag: 'peer-token-file',
    description:
      "A file holding the token this gateway presents to its peers' GET /autoscale (an admin token of their TOKENS_FILE); re-read when it changes",
    parse: parse.string(),
    default: undefined,
  }),
  replicaTokenFile: setting<string | undefined>({
    env: 'REPLICA_TOKEN_FILE',
    flag: 'replica-token-file',
    description:
      "A file holding the token this gateway presents to replicas (one of the replicas' TOKENS_FILE, role predict or above); re-read when it changes",
    parse: parse.string(),
    default: undefined,
  }),
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
    parse: positiveInt(),
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
  slotsPerReplica: setting({
    env: 'REPLICA_SLOTS',
    flag: 'replica-slots',
    description:
      'Requests each replica is given at once (its concurrency; 2 lets a replica preprocess the next image while its model runs — chosen by npm run bench:e2e)',
    parse: positiveInt(256),
    default: 2,
  }),
  slotsWhenQueued: setting({
    env: 'REPLICA_SLOTS_WHEN_QUEUED',
    flag: 'replica-slots-when-queued',
    description:
      'Requests each replica may hold while more jobs wait in the queue than there are replicas: one more per further ' +
      "replica-count jobs waiting, up to this, so its micro-batcher batches them (keep it within the replica's " +
      'MAX_INFLIGHT); 0, or not above REPLICA_SLOTS, is off: late binding only (measured with npm run bench:e2e; see the README)',
    parse: parse.integer({ min: 0, max: 256 }),
    default: 0,
  }),
  workers: setting<number | 'auto'>({
    env: 'WORKERS',
    flag: 'workers',
    description: 'Requests in flight to replicas at once: a number, or auto (= total slots of ready replicas)',
    parse: (raw) => (raw === 'auto' ? 'auto' : positiveInt(100_000)(raw)),
    default: 'auto',
  }),
  routing: setting({
    env: 'ROUTING',
    flag: 'routing',
    description: 'Routing policy: least-outstanding, round-robin or random',
    parse: parse.oneOf(['least-outstanding', 'round-robin', 'random']),
    default: 'least-outstanding' as const,
  }),
  queueMax: setting({
    env: 'QUEUE_MAX',
    flag: 'queue-max',
    description: 'Requests the gateway queue holds before answering 503',
    parse: positiveInt(),
    default: 256,
  }),
  queueMaxBytes: setting({
    env: 'QUEUE_MAX_BYTES',
    flag: 'queue-max-bytes',
    description:
      'Request bytes the gateway queue holds, bodies still arriving included (reserved at admission from Content-Length), before answering 503',
    parse: positiveInt(),
    default: 64 * 1024 * 1024,
  }),
  maxReceivingBytes: setting({
    env: 'MAX_RECEIVING_BYTES',
    flag: 'max-receiving-bytes',
    description:
      'Bytes of request bodies being received at once (counted from Content-Length, or as chunked bodies arrive); beyond it 503 before the body is read',
    parse: positiveInt(),
    default: 32 * 1024 * 1024,
  }),
  maxConnections: setting({
    env: 'MAX_CONNECTIONS',
    flag: 'max-connections',
    description: 'Client connections held at once; one more is closed as it opens',
    parse: positiveInt(1_000_000),
    default: 4096,
  }),
  lowPriorityShare: setting({
    env: 'LOW_PRIORITY_SHARE',
    flag: 'low-priority-share',
    description: 'Share of the queue that X-Priority: low requests may fill',
    parse: parse.number({ min: 0, max: 1 }),
    default: 0.5,
  }),
  lowPriorityReservedSlots: setting({
    env: 'LOW_PRIORITY_RESERVED_SLOTS',
    flag: 'low-priority-reserved-slots',
    description:
      'Replica slots that low-priority (batch) work leaves free for interactive requests (at most all slots but one)',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  defaultTimeoutMs: setting({
    env: 'DEFAULT_TIMEOUT_MS',
    flag: 'default-timeout-ms',
    description: 'Deadline for requests without X-Timeout-Ms (admission judges them by SLO_MS)',
    parse: positiveInt(3_600_000),
    default: 10_000,
  }),
  healthIntervalMs: setting({
    env: 'HEALTH_INTERVAL_MS',
    flag: 'health-interval-ms',
    description: 'How often each replica /readyz is probed',
    parse: positiveInt(),
    default: 1000,
  }),
  healthBootIntervalMs: setting({
    env: 'HEALTH_BOOT_INTERVAL_MS',
    flag: 'health-boot-interval-ms',
    description:
      'How often a replica that is not ready yet (booting) is probed, so it takes traffic as soon as it is warm; 0 = every HEALTH_INTERVAL_MS like the others',
    parse: parse.integer({ min: 0, max: 3_600_000 }),
    default: 100,
  }),
  healthBootWindowMs: setting({
    env: 'HEALTH_BOOT_WINDOW_MS',
    flag: 'health-boot-window-ms',
    description:
      'A replica still not ready this long after it was listed or last ready is probed every HEALTH_INTERVAL_MS again',
    parse: parse.integer({ min: 0, max: 86_400_000 }),
    default: 120_000,
  }),
  healthTimeoutMs: setting({
    env: 'HEALTH_TIMEOUT_MS',
    flag: 'health-timeout-ms',
    description: 'A probe without an answer by then counts as not ready',
    parse: positiveInt(),
    default: 800,
  }),
  healthFailureThreshold: setting({
    env: 'HEALTH_FAILURE_THRESHOLD',
    flag: 'health-failure-threshold',
    description:
      'Probes in a row without an answer that make a ready replica not ready (an answer of "not ready" or a refused connection counts at once)',
    parse: positiveInt(100),
    default: 3,
  }),
  healthSuccessThreshold: setting({
    env: 'HEALTH_SUCCESS_THRESHOLD',
    flag: 'health-success-threshold',
    description: 'Successful probes in a row that make a replica ready',
    parse: positiveInt(100),
    default: 1,
  }),
  connectTimeoutMs: setting({
    env: 'CONNECT_TIMEOUT_MS',
    flag: 'connect-timeout-ms',
    description: 'Give up connecting to a replica after this long',
    parse: positiveInt(),
    default: 1000,
  }),
  outlierFailures: setting({
    env: 'OUTLIER_CONSECUTIVE_FAILURES',
    flag: 'outlier-consecutive-failures',
    description: 'Consecutive failures (5xx, resets, no answer) that eject a replica',
    parse: positiveInt(1000),
    default: 3,
  }),
  ejectionBaseMs: setting({
    env: 'EJECTION_BASE_MS',
    flag: 'ejection-base-ms',
    description: 'First ejection length; doubles on each repeat',
    parse: positiveInt(),
    default: 1000,
  }),
  ejectionMaxMs: setting({
    env: 'EJECTION_MAX_MS',
    flag: 'ejection-max-ms',
    description: 'Longest ejection',
    parse: positiveInt(),
    default: 30_000,
  }),
  retryBudgetRatio: setting({
    env: 'RETRY_BUDGET_RATIO',
    flag: 'retry-budget-ratio',
    description: 'Retries allowed as a share of requests in the last RETRY_WINDOW_MS',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0.2,
  }),
  retryWindowMs: setting({
    env: 'RETRY_WINDOW_MS',
    flag: 'retry-window-ms',
    description: 'Window of the retry budget',
    parse: positiveInt(),
    default: 10_000,
  }),
  retryMin: setting({
    env: 'RETRY_MIN',
    flag: 'retry-min',
    description: 'Retries always allowed per window, however quiet',
    parse: parse.integer({ min: 0 }),
    default: 3,
  }),
  deadlineGraceMs: setting({
    env: 'DEADLINE_GRACE_MS',
    flag: 'deadline-grace-ms',
    description: 'How long past a deadline a replica may take to answer before it counts as hung',
    parse: parse.integer({ min: 0 }),
    default: 250,
  }),
  autoscaler: setting<'none' | 'local' | 'kubernetes' | undefined>({
    env: 'AUTOSCALER',
    flag: 'autoscaler',
    description:
      'What acts on the desired replica count: local (replica processes), kubernetes (Deployment scale), none (signal only; default local with DISCOVERY=local)',
    parse: parse.oneOf(['none', 'local', 'kubernetes']),
    default: undefined,
  }),
  minReplicas: setting({
    env: 'MIN_REPLICAS',
    flag: 'min-replicas',
    description: 'Autoscaling lower bound',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  maxReplicas: setting({
    env: 'MAX_REPLICAS',
    flag: 'max-replicas',
    description: 'Autoscaling upper bound (default: one per core for local replicas, else 100)',
    parse: parse.integer({ min: 1, max: 10_000 }),
    default: (partial) => (partial.discovery === 'local' ? availableParallelism() : 100),
  }),
  targetUtilization: setting({
    env: 'TARGET_UTILIZATION',
    flag: 'target-utilization',
    description:
      'Most replica slot utilisation the autoscaler sizes for (a ceiling: --wait-tail-share asks for more when the SLO needs it)',
    parse: parse.number({ min: 0.05, max: 1 }),
    default: 0.9,
  }),
  sloMs: setting({
    env: 'SLO_MS',
    flag: 'slo-ms',
    description:
      'Latency objective: requests without X-Timeout-Ms are admitted only if expected to be answered within it, and the autoscaler plans to drain the queue within it',
    parse: positiveInt(),
    default: 500,
  }),
  scaleDownStabilizationS: setting({
    env: 'SCALE_DOWN_STABILIZATION_S',
    flag: 'scale-down-stabilization-s',
    description: 'Scale down only to the highest recommendation of this window',
    parse: parse.integer({ min: 0 }),
    default: 10,
  }),
  scaleDownStartups: setting({
    env: 'SCALE_DOWN_STARTUPS',
    flag: 'scale-down-startups',
    description:
      'Scale down only to the highest recommendation of this many measured replica start-ups, when longer than the stabilisation (0: the stabilisation alone)',
    parse: parse.number({ min: 0, max: 100 }),
    default: 3,
  }),
  panicThreshold: setting({
    env: 'PANIC_THRESHOLD',
    flag: 'panic-threshold',
    description: 'Short-window demand, as a multiple of ready capacity, that freezes scale-down',
    parse: parse.number({ min: 1 }),
    default: 2,
  }),
  shortWindowS: setting({
    env: 'SHORT_WINDOW_S',
    flag: 'short-window-s',
    description: 'Arrival-rate window for reacting to bursts (tuned on training workloads: npm run tune)',
    parse: positiveInt(3600),
    default: 1,
  }),
  replicaStartupS: setting({
    env: 'REPLICA_STARTUP_S',
    flag: 'replica-startup-s',
    description:
      'How long a new replica takes to become ready, until one is measured (ask to ready): the forecast and the backlog term plan around it',
    parse: parse.number({ min: 0, max: 3600 }),
    default: 5,
  }),
  standby: setting<StandbySetting>({
    env: 'STANDBY',
    flag: 'standby',
    description:
      'Warm standbys beside the serving replicas, promoted by an in-place CPU resize when scaling up: auto (as many as the bursts seen outgrew the pool within one start-up, at least MIN_STANDBYS), off, or a count. Held by AUTOSCALER=kubernetes (pods/resize; k8s/overlays/custom turns it on, with the Service selecting serving pods only); the local actuator ignores them',
    parse: parseStandbySetting,
    default: 'off',
  }),
  minStandbys: setting({
    env: 'MIN_STANDBYS',
    flag: 'min-standbys',
    description: 'STANDBY=auto keeps at least this many warm standbys, before any burst has sized them',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  maxStandbys: setting({
    env: 'MAX_STANDBYS',
    flag: 'max-standbys',
    description: 'At most this many warm standbys',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 4,
  }),
  standbyHorizonS: setting({
    env: 'STANDBY_HORIZON_S',
    flag: 'standby-horizon-s',
    description: 'STANDBY=auto sizes the standbys from the bursts of this many seconds back',
    parse: parse.integer({ min: 1, max: 86_400 }),
    default: 600,
  }),
  standbyCpu: setting({
    env: 'STANDBY_CPU',
    flag: 'standby-cpu',
    description:
      "kubernetes: a standby's CPU request and limit (a Kubernetes quantity); promotion resizes it to the Deployment template's",
    parse: (raw) => {
      if (!cpuMillicores(raw)) throw new Error('expected a CPU quantity above 0, e.g. 50m or 0.05')
      return raw
    },
    default: '50m',
  }),
  waitTailShare: setting({
    env: 'WAIT_TAIL_SHARE',
    flag: 'wait-tail-share',
    description:
      'Replicas are added beyond what the target utilisation asks for until, by M/G/c (Erlang C with the measured service-time variability, Allen–Cunneen), at most this share of requests would wait past what the SLO leaves after service (1: utilisation alone; tuned: npm run tune)',
    parse: parse.number({ min: 0.000001, max: 1 }),
    default: 0.001,
  }),
  burstNoiseZ: setting({
    env: 'BURST_NOISE_Z',
    flag: 'burst-noise-z',
    description:
      'The short window counts only arrivals beyond this many standard deviations of Poisson noise (tuned on training workloads: npm run tune)',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0,
  }),
  trendGain: setting({
    env: 'TREND_GAIN',
    flag: 'trend-gain',
    description:
      'Share of the start-up the short-window rate is extrapolated over along the arrivals trend (0: no forecast; tuned on training workloads: npm run tune)',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0,
  }),
  trendWindowS: setting({
    env: 'TREND_WINDOW_S',
    flag: 'trend-window-s',
    description: 'Window whose two halves are compared for the arrivals trend',
    parse: positiveInt(3600),
    default: 10,
  }),
  longWindowS: setting({
    env: 'LONG_WINDOW_S',
    flag: 'long-window-s',
    description: 'Arrival-rate window for the stable rate',
    parse: positiveInt(3600),
    default: 20,
  }),
  autoscaleIntervalMs: setting({
    env: 'AUTOSCALE_INTERVAL_MS',
    flag: 'autoscale-interval-ms',
    description: 'How often the desired replica count is computed',
    parse: positiveInt(),
    default: 1000,
  }),
  modelRegistryFile: registryFileSetting(),
  registryPollMs: setting({
    env: 'MODEL_REGISTRY_POLL_MS',
    flag: 'model-registry-poll-ms',
    description: 'Also re-read the registry file this often (file events can be missed)',
    parse: positiveInt(),
    default: 2000,
  }),
  brownout: setting({
    env: 'BROWNOUT',
    flag: 'brownout',
    description:
      'on: a request a model would not answer in time is answered by its fallback (set with `npm run models -- fallback`) when that would be, marked degraded; off: refused as without one. Nothing changes for a model without a fallback',
    parse: parse.oneOf(['on', 'off']),
    default: 'on' as const,
  }),
  canaryWindowS: setting({
    env: 'CANARY_WINDOW_S',
    flag: 'canary-window-s',
    description: 'Sliding window over which a canary is compared with production (and the live panel counts versions)',
    parse: positiveInt(3600),
    default: 300,
  }),
  canaryMinSamples: setting({
    env: 'CANARY_MIN_SAMPLES',
    flag: 'canary-min-samples',
    description: 'Requests each of candidate and production needs in the window before a canary can be rolled back',
    parse: positiveInt(1_000_000),
    default: 50,
  }),
  canaryMaxErrorRateIncrease: setting({
    env: 'CANARY_MAX_ERROR_RATE_INCREASE',
    flag: 'canary-max-error-rate-increase',
    description: "Roll back when the candidate's error rate exceeds production's by more than this share",
    parse: parse.number({ min: 0, max: 1 }),
    default: 0.01,
  }),
  canaryMaxP95Increase: setting({
    env: 'CANARY_MAX_P95_INCREASE',
    flag: 'canary-max-p95-increase',
    description: "Roll back when the candidate's p95 exceeds production's by more than this share (the gate's +10 %) …",
    parse: parse.number({ min: 0, max: 100 }),
    default: 0.1,
  }),
  canaryP95SlackMs: setting({
    env: 'CANARY_P95_SLACK_MS',
    flag: 'canary-p95-slack-ms',
    description: '… plus this many ms (timer jitter on fast models is not a regression)',
    parse: parse.number({ min: 0, max: 60_000 }),
    default: 5,
  }),
  dataDir: setting({
    env: 'DATA_DIR',
    flag: 'data-dir',
    description: 'Where the gateway keeps state that must survive a restart (batch jobs: batch.sqlite)',
    parse: parse.string(),
    default: DEFAULT_DATA_DIR,
  }),
  datasetsDir: setting({
    env: 'DATASETS_DIR',
    flag: 'datasets-dir',
    description: 'Batch datasets: each sub-folder of images is one dataset, named by the folder',
    parse: parse.string(),
    default: DEFAULT_DATASETS_DIR,
  }),
  batchConcurrency: setting({
    env: 'BATCH_CONCURRENCY',
    flag: 'batch-concurrency',
    description:
      'Images of a batch job in the queue or in flight at once (low-priority lane; also capped by its share of the queue)',
    parse: positiveInt(256),
    default: 2,
  }),
  batchImageTimeoutMs: setting({
    env: 'BATCH_IMAGE_TIMEOUT_MS',
    flag: 'batch-image-timeout-ms',
    description: 'Deadline of one batch image, queue included (batch work waits behind interactive requests)',
    parse: positiveInt(3_600_000),
    default: 60_000,
  }),
  batchStallTimeoutMs: setting({
    env: 'BATCH_STALL_TIMEOUT_MS',
    flag: 'batch-stall-timeout-ms',
    description: 'A running batch job that completes no image for this long (e.g. no replica serves its model) fails',
    parse: positiveInt(),
    default: 120_000,
  }),
  batchMaxActiveJobs: setting({
    env: 'BATCH_MAX_ACTIVE_JOBS',
    flag: 'batch-max-active-jobs',
    description:
      'Batch jobs queued or running at once per token (all clients together without TOKENS_FILE); one more is 429 too_many_jobs',
    parse: positiveInt(100_000),
    default: 8,
  }),
  batchKeepFinished: setting({
    env: 'BATCH_KEEP_FINISHED',
    flag: 'batch-keep-finished',
    description: 'Finished batch jobs kept (the newest); older ones are deleted with their results',
    parse: positiveInt(10_000_000),
    default: 1000,
  }),
  batchKeepFinishedS: setting({
    env: 'BATCH_KEEP_FINISHED_S',
    flag: 'batch-keep-finished-s',
    description: 'Finished batch jobs are deleted, with their results, this many seconds after they ended',
    parse: positiveInt(10 * 365 * 86_400),
    default: 30 * 86_400,
  }),
  kubeApiUrl: setting<string | undefined>({
    env: 'KUBE_API_URL',
    flag: 'kube-api-url',
    description: 'kubernetes: API server (default from KUBERNETES_SERVICE_HOST/PORT in a pod)',
    parse: parse.httpUrl(),
    default: undefined,
  }),
  kubeNamespace: setting({
    env: 'KUBE_NAMESPACE',
    flag: 'kube-namespace',
    description: 'kubernetes: namespace of the replica Deployment',
    parse: parse.string(),
    default: 'switchyard',
  }),
  kubeDeployment: setting({
    env: 'KUBE_DEPLOYMENT',
    flag: 'kube-deployment',
    description: 'kubernetes: the replica Deployment',
    parse: parse.string(),
    default: 'replica',
  }),
  kubePodSelector: setting<string | undefined>({
    env: 'KUBE_POD_SELECTOR',
    flag: 'kube-pod-selector',
    description:
      "kubernetes: label selector of the replica Deployment's pods; set, the actuator labels each serving or standby (switchyard.dev/role, which the replica Service selects) and resizes standbys in place (needed for STANDBY)",
    parse: parse.string(),
    default: undefined,
  }),
  kubeContainer: setting({
    env: 'KUBE_CONTAINER',
    flag: 'kube-container',
    description: "kubernetes: the replica pods' container that standbys resize",
    parse: parse.string(),
    default: 'replica',
  }),
  kubeTokenFile: setting({
    env: 'KUBE_TOKEN_FILE',
    flag: 'kube-token-file',
    description: 'kubernetes: service-account token',
    parse: parse.string(),
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  }),
  kubeCaFile: setting<string | undefined>({
    env: 'KUBE_CA_FILE',
    flag: 'kube-ca-file',
    description: 'kubernetes: API server CA (default: the service account ca.crt with https)',
    parse: parse.string(),
    default: undefined,
  }),
  gatewayId: setting({
    env: 'GATEWAY_ID',
    flag: 'gateway-id',
    description:
      'This gateway among several: its Lease holder identity and how peers tell it apart (default: the host name, a pod name in Kubernetes)',
    parse: parse.string(),
    default: () => hostname(),
  }),
  peerDnsName: setting<string | undefined>({
    env: 'PEER_DNS_NAME',
    flag: 'peer-dns-name',
    description:
      'Other gateways over the same replicas: a DNS name with an address per gateway (a headless Service); the autoscaler sizes for their demand too',
    parse: parse.string(),
    default: undefined,
  }),
  peerPort: setting<number | undefined>({
    env: 'PEER_PORT',
    flag: 'peer-port',
    description: 'Port the gateways behind PEER_DNS_NAME listen on (default: PORT)',
    parse: parse.integer({ min: 1, max: 65535 }),
    default: undefined,
  }),
  peers: setting({
    env: 'PEERS',
    flag: 'peers',
    description: 'Other gateways over the same replicas, as comma-separated URLs (instead of PEER_DNS_NAME)',
    parse: parse.list(parse.httpUrl()),
    default: [] as string[],
  }),
  leaseName: setting<string | undefined>({
    env: 'KUBE_LEASE_NAME',
    flag: 'kube-lease-name',
    description:
      'kubernetes: the Lease whose holder alone scales the Deployment (default: <KUBE_DEPLOYMENT>-autoscaler)',
    parse: parse.string(),
    default: undefined,
  }),
  leaseDurationS: setting({
    env: 'KUBE_LEASE_DURATION_S',
    flag: 'kube-lease-duration-s',
    description: 'kubernetes: a leader that stops renewing is replaced after this long',
    parse: parse.integer({ min: 2, max: 3600 }),
    default: 15,
  }),
  leaseRenewDeadlineS: setting({
    env: 'KUBE_LEASE_RENEW_DEADLINE_S',
    flag: 'kube-lease-renew-deadline-s',
    description: 'kubernetes: a leader that has not renewed for this long stops scaling (below the lease duration)',
    parse: parse.integer({ min: 1, max: 3600 }),
    default: 10,
  }),
  leaseRetryPeriodS: setting({
    env: 'KUBE_LEASE_RETRY_PERIOD_S',
    flag: 'kube-lease-retry-period-s',
    description: 'kubernetes: how often each gateway tries to acquire or renew the Lease',
    parse: parse.integer({ min: 1, max: 3600 }),
    default: 2,
  }),
}

export type GatewayConfig = Omit<ConfigOf<typeof gatewayConfigSpec>, 'autoscaler' | 'peerPort' | 'leaseName'> & {
  readonly autoscaler: 'none' | 'local' | 'kubernetes'
  readonly peerPort: number
  readonly leaseName: string
}

export function loadGatewayConfig(source: ConfigSource): GatewayConfig {
  const parsed = parseConfig(gatewayConfigSpec, source)
  const { KUBERNETES_SERVICE_HOST: kubeHost, KUBERNETES_SERVICE_PORT: kubePort } = source.env
  const inCluster = kubeHost
    ? `https://${kubeHost.includes(':') ? `[${kubeHost}]` : kubeHost}:${kubePort ?? 443}`
    : undefined
  const kubeApiUrl = parsed.kubeApiUrl ?? inCluster
  const config = Object.freeze({
    ...parsed,
    peerPort: parsed.peerPort ?? parsed.port,
    leaseName: parsed.leaseName ?? `${parsed.kubeDeployment}-autoscaler`,
    autoscaler: parsed.autoscaler ?? (parsed.discovery === 'local' ? 'local' : 'none'),
    kubeApiUrl,
    kubeCaFile:
      parsed.kubeCaFile ??
      (kubeApiUrl?.startsWith('https:') ? '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' : undefined),
  })
  if (config.discovery === 'static' && config.replicas.length === 0 && !config.replicasFile) {
    throw new ConfigError('replicas', 'DISCOVERY=static needs REPLICAS (comma-separated URLs) or REPLICAS_FILE')
  }
  if (config.discovery === 'dns' && !config.dnsName) {
    throw new ConfigError('dnsName', 'DISCOVERY=dns needs REPLICA_DNS_NAME')
  }
  if (config.autoscaler === 'local' && config.discovery !== 'local') {
    throw new ConfigError('autoscaler', 'AUTOSCALER=local scales replica processes, so it needs DISCOVERY=local')
  }
  if (config.autoscaler === 'kubernetes' && !config.kubeApiUrl) {
    throw new ConfigError('kubeApiUrl', 'AUTOSCALER=kubernetes needs KUBE_API_URL (or to run in a pod)')
  }
  if (config.leaseRenewDeadlineS >= config.leaseDurationS) {
    throw new ConfigError(
      'leaseRenewDeadlineS',
      `KUBE_LEASE_RENEW_DEADLINE_S (${config.leaseRenewDeadlineS}) must be below KUBE_LEASE_DURATION_S (${config.leaseDurationS}): a leader must stop before another may start`,
    )
  }
  if (config.leaseRetryPeriodS >= config.leaseRenewDeadlineS) {
    throw new ConfigError(
      'leaseRetryPeriodS',
      `KUBE_LEASE_RETRY_PERIOD_S (${config.leaseRetryPeriodS}) must be below KUBE_LEASE_RENEW_DEADLINE_S (${config.leaseRenewDeadlineS}): a leader renews several times per deadline`,
    )
  }
  if (config.autoscaler === 'local' && (config.peerDnsName || config.peers.length > 0)) {
    throw new ConfigError(
      'peers',
      "AUTOSCALER=local scales this gateway's own replica processes: other gateways' demand is not theirs to serve (drop PEERS/PEER_DNS_NAME)",
    )
  }
  if (config.peerDnsName && config.peers.length > 0) {
    throw new ConfigError('peers', 'PEERS and PEER_DNS_NAME are two ways to name the other gateways: give one')
  }
  if (config.autoscaler === 'kubernetes' && config.standby !== 'off' && !config.kubePodSelector) {
    throw new ConfigError(
      'kubePodSelector',
      'STANDBY with AUTOSCALER=kubernetes needs KUBE_POD_SELECTOR: standbys are pods labelled and resized in place (k8s/overlays/custom)',
    )
  }
  if (config.minReplicas > config.maxReplicas) {
    throw new ConfigError(
      'minReplicas',
      `MIN_REPLICAS (${config.minReplicas}) is above MAX_REPLICAS (${config.maxReplicas})`,
    )
  }
  return config
}
