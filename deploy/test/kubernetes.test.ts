import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { validateRegistryState } from '../../common/model-registry/state.ts'
import { kubernetesActuator } from '../../gateway/src/autoscale/actuators/kubernetes.ts'
import { leaseElectorOptions } from '../../gateway/src/autoscale/cluster-settings.ts'
import { kubernetesClient } from '../../gateway/src/autoscale/kubernetes-api.ts'
import { LeaseElector } from '../../gateway/src/autoscale/lease-elector.ts'
import { loadGatewayConfig } from '../../gateway/src/config.ts'

const K8S = fileURLToPath(new URL('../../k8s', import.meta.url))
const OVERLAYS = ['base', 'overlays/hpa-70', 'overlays/hpa-90', 'overlays/keda', 'overlays/custom', 'overlays/local']
/** Applied on its own, beside one of the above, on clusters with the Prometheus Operator. */
const MONITORING = 'monitoring'

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are arbitrary Kubernetes objects
type K8sObject = any

function render(overlay: string): K8sObject[] {
  const yaml = execFileSync('kubectl', ['kustomize', `${K8S}/${overlay}`], { encoding: 'utf8' })
  return YAML.parseAllDocuments(yaml).map((doc) => doc.toJS())
}

/**
 * The kubernetes-models class for an object (KEDA's from @kubernetes-models/keda, the Prometheus Operator's from
 * @kubernetes-models/prometheus-operator), which validates it.
 */
async function modelFor(object: K8sObject) {
  const module = object.apiVersion.startsWith('keda.sh/')
    ? await import(`@kubernetes-models/keda/${object.apiVersion}`)
    : object.apiVersion.startsWith('monitoring.coreos.com/')
      ? await import(`@kubernetes-models/prometheus-operator/${object.apiVersion}`)
      : await import(`kubernetes-models/${object.apiVersion}`)
  const Model = module[object.kind]
  assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`)
  return new Model(object)
}

describe('k8s/ renders with kustomize and every object validates against its schema', () => {
  for (const overlay of OVERLAYS) {
    test(overlay, async () => {
      const objects = render(overlay)
      assert.ok(objects.length >= 7)
      for (const object of objects) {
        const model = await modelFor(object)
        assert.doesNotThrow(() => model.validate(), `${object.kind} ${object.metadata?.name}`)
        // Every namespaced object in switchyard, the overlays' own too (an HPA or a Role elsewhere acts on nothing).
        if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'switchyard', `${object.kind}`)
      }
    })
  }

  test(`${MONITORING}: a PodMonitor and the alerts as a PrometheusRule`, async () => {
    const objects = render(MONITORING)
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['PodMonitor', 'PrometheusRule'])
    for (const object of objects) {
      const model = await modelFor(object)
      assert.doesNotThrow(() => model.validate(), `${object.kind} ${object.metadata?.name}`)
      assert.equal(object.metadata.namespace, 'switchyard')
    }
  })

  test('an invalid object is caught (the validation can fail)', async () => {
    const deployment = render('base').find((o) => o.kind === 'Deployment')
    deployment.spec.replicas = 'three'
    await assert.rejects(async () => (await modelFor(deployment)).validate(), /replicas must be integer/)
    const statefulSet = render('base').find((o) => o.kind === 'StatefulSet')
    statefulSet.spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable = 7
    await assert.rejects(async () => (await modelFor(statefulSet)).validate(), /whenUnsatisfiable/)
    const rule = render(MONITORING).find((o) => o.kind === 'PrometheusRule')
    delete rule.spec.groups[0].rules[0].expr
    await assert.rejects(async () => (await modelFor(rule)).validate(), /expr/)
  })
})

describe('k8s/ manifests keep their promises', () => {
  const base = render('base')
  // The replicas' Deployment and the gateways' StatefulSet.
  const deployments = base.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
  const config = base.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'switchyard').data
  const gatewaySet = base.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'gateway')
  const podLabels = gatewaySet.spec.template.metadata.labels
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([key, value]) => labels[key] === value)

  test('every workload: non-root, read-only root filesystem, no privilege escalation, probes, limits, grace ≥ drain', () => {
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ['gateway', 'replica'])
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec
      assert.equal(pod.securityContext.runAsNonRoot, true)
      assert.ok(pod.terminationGracePeriodSeconds >= 30, 'longer than the 25 s drain')
      for (const container of pod.containers) {
        assert.equal(container.securityContext.readOnlyRootFilesystem, true)
        assert.equal(container.securityContext.allowPrivilegeEscalation, false)
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'])
        assert.equal(container.readinessProbe.httpGet.path, '/readyz')
        assert.equal(container.livenessProbe.httpGet.path, '/healthz')
        assert.ok(container.startupProbe, 'a startup probe covers model loading')
        assert.ok(container.resources.limits.cpu && container.resources.limits.memory)
        assert.ok(
          container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'),
          'a writable /tmp',
        )
      }
      assert.equal(deployment.spec.template.metadata.annotations['prometheus.io/scrape'], 'true')
    }
  })

  test('two gateways: a disruption budget over them, never both on one node, rolled one at a time, drained in the grace period', () => {
    assert.equal(gatewaySet.spec.replicas, 2)
    const budgets = base.filter(
      (o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector.matchLabels, podLabels),
    )
    assert.equal(budgets.length, 1, 'exactly one PodDisruptionBudget selects the gateway pods')
    assert.equal(budgets[0].spec.maxUnavailable, 1)
    const replicaLabels = deployments.find((d) => d.metadata.name === 'replica').spec.template.metadata.labels
    assert.ok(!selects(budgets[0].spec.selector.matchLabels, replicaLabels), 'and not the replicas')
    assert.ok(selects(gatewaySet.spec.selector.matchLabels, podLabels))
    const pod = gatewaySet.spec.template.spec
    const byNode = pod.topologySpreadConstraints.find((c: K8sObject) => c.topologyKey === 'kubernetes.io/hostname')
    assert.deepEqual([byNode.maxSkew, byNode.whenUnsatisfiable], [1, 'DoNotSchedule'])
    assert.ok(selects(byNode.labelSelector.matchLabels, podLabels))
    // A StatefulSet rolls one pod at a time and waits for it to be ready: the other one serves meanwhile.
    assert.equal(gatewaySet.spec.updateStrategy.type, 'RollingUpdate')
    assert.equal(gatewaySet.spec.updateStrategy.rollingUpdate?.maxUnavailable ?? 1, 1)
    const container = pod.containers[0]
    const preStopS = Number(container.lifecycle.preStop.exec.command.at(-1))
    const drainS = Number(config.SHUTDOWN_TIMEOUT_MS) / 1000
    assert.ok(
      pod.terminationGracePeriodSeconds >= preStopS + drainS + 5,
      `grace ${pod.terminationGracePeriodSeconds} s ≥ preStop ${preStopS} s + drain ${drainS} s + closing`,
    )
    assert.ok(Number(config.DEFAULT_TIMEOUT_MS) / 1000 <= drainS, 'a queued request times out within the drain')
    assert.equal(container.readinessProbe.httpGet.path, '/readyz')
  })

  test('every gateway finds the others (headless Service, not-ready ones too) and knows itself by its pod name', () => {
    const peers = base.find((o) => o.kind === 'Service' && o.metadata.name === gatewaySet.spec.serviceName)
    assert.equal(peers.spec.clusterIP, 'None')
    assert.equal(peers.spec.publishNotReadyAddresses, true, 'a draining gateway still has a queue that needs replicas')
    assert.ok(selects(peers.spec.selector, podLabels))
    assert.equal(config.PEER_DNS_NAME, `${peers.metadata.name}.switchyard.svc.cluster.local`)
    const env = gatewaySet.spec.template.spec.containers[0].env
    const port = gatewaySet.spec.template.spec.containers[0].ports.find((p: K8sObject) => p.name === 'http')
    assert.equal(peers.spec.ports[0].port, port.containerPort, 'PEER_PORT defaults to PORT')
    assert.deepEqual(env.find((e: K8sObject) => e.name === 'GATEWAY_ID').valueFrom, {
      fieldRef: { fieldPath: 'metadata.name' },
    })
  })

  test('each gateway keeps its batch jobs on its own volume at DATA_DIR; batch clients reach gateway-0 and its volume', () => {
    const pod = gatewaySet.spec.template.spec
    const env = Object.fromEntries(pod.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]))
    const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === env.DATA_DIR)
    assert.ok(!pod.volumes.some((v: { name: string }) => v.name === mount.name), 'not a volume shared by the pods')
    const claim = gatewaySet.spec.volumeClaimTemplates.find((c: K8sObject) => c.metadata.name === mount.name)
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce'])
    assert.ok(!base.some((o) => o.kind === 'PersistentVolumeClaim'), 'no claim two gateways would share')
    assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup)
    const batch = base.find((o) => o.kind === 'Service' && o.metadata.name === 'gateway-batch')
    const gateway0 = { ...podLabels, 'statefulset.kubernetes.io/pod-name': `${gatewaySet.metadata.name}-0` }
    const gateway1 = { ...podLabels, 'statefulset.kubernetes.io/pod-name': `${gatewaySet.metadata.name}-1` }
    assert.ok(selects(batch.spec.selector, gateway0))
    assert.ok(!selects(batch.spec.selector, gateway1), 'only the one pod')
    const predictions = base.find((o) => o.kind === 'Service' && o.metadata.name === 'gateway')
    assert.ok(selects(predictions.spec.selector, gateway0) && selects(predictions.spec.selector, gateway1))
  })

  test('replicas: 1 CPU / 1 GiB with requests = limits, behind a headless Service, with a disruption budget', () => {
    const replica = deployments.find((d) => d.metadata.name === 'replica').spec.template.spec.containers[0]
    assert.deepEqual(replica.resources.requests, { cpu: '1', memory: '1Gi' })
    assert.deepEqual(replica.resources.limits, replica.resources.requests)
    const service = base.find((o) => o.kind === 'Service' && o.metadata.name === 'replica')
    assert.equal(service.spec.clusterIP, 'None')
    const replicaLabels = deployments.find((d) => d.metadata.name === 'replica').spec.template.metadata.labels
    assert.ok(base.some((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector.matchLabels, replicaLabels)))
    assert.equal(config.DISCOVERY, 'dns')
    assert.equal(config.REPLICA_DNS_NAME, 'replica.switchyard.svc.cluster.local')
  })

  test('the gateway reads the model registry from a ConfigMap mounted as a folder (so updates reach it), a valid state', () => {
    const gateway = gatewaySet.spec.template.spec
    const container = gateway.containers[0]
    const file = container.env.find((e: { name: string }) => e.name === 'MODEL_REGISTRY_FILE').value
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'model-registry')
    assert.equal(mount.subPath, undefined, 'a subPath mount never sees ConfigMap updates')
    assert.equal(file, `${mount.mountPath}/models.json`)
    const volume = gateway.volumes.find((v: { name: string }) => v.name === 'model-registry')
    const configMap = base.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name)
    validateRegistryState(JSON.parse(configMap.data['models.json']))
  })

  test('hpa-70 and hpa-90: CPU-utilisation HPAs on the replica Deployment', () => {
    for (const pct of [70, 90]) {
      const hpa = render(`overlays/hpa-${pct}`).find((o) => o.kind === 'HorizontalPodAutoscaler')
      assert.equal(hpa.apiVersion, 'autoscaling/v2')
      assert.equal(hpa.spec.scaleTargetRef.name, 'replica')
      assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, pct)
    }
  })

  test('NetworkPolicies: nothing in by default; replicas from gateways and Prometheus only; gateways from gateways and labelled client namespaces, /metrics from Prometheus only', () => {
    const policies = base.filter((o) => o.kind === 'NetworkPolicy')
    const replicaSet = deployments.find((d) => d.metadata.name === 'replica')
    const replicaLabels = replicaSet.spec.template.metadata.labels
    const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0)
    assert.ok(deny, 'a default-deny policy over every pod')
    assert.deepEqual(deny.spec.policyTypes, ['Ingress'])
    assert.equal(deny.spec.ingress, undefined, 'it allows nothing')
    // Every (port, source) a pod with these labels accepts, as plain strings.
    const allowed = (labels: Record<string, string>) =>
      policies
        .filter((p) => selects(p.spec.podSelector.matchLabels ?? {}, labels))
        .flatMap((p) => p.spec.ingress ?? [])
        .flatMap((rule: { from: K8sObject[]; ports: { port: string }[] }) =>
          rule.ports.flatMap((port) =>
            rule.from.map((from) => {
              const pods = from.podSelector?.matchLabels
              const namespaces = from.namespaceSelector?.matchLabels
              if (pods && !namespaces && selects(pods, podLabels)) return `${port.port} <- gateways`
              if (pods?.['app.kubernetes.io/name'] === 'prometheus' && namespaces) return `${port.port} <- prometheus`
              if (namespaces?.['switchyard.io/client'] === 'true' && !pods) return `${port.port} <- client namespaces`
              return `${port.port} <- ${JSON.stringify(from)}`
            }),
          ),
        )
        .sort()
    assert.deepEqual(allowed(replicaLabels), ['http <- gateways', 'metrics <- prometheus'])
    assert.deepEqual(allowed(podLabels), ['http <- client namespaces', 'http <- gateways', 'metrics <- prometheus'])
    // The ports named are the containers' own, and /metrics is served alone on the metrics one (no token needed).
    for (const workload of deployments) {
      const ports = workload.spec.template.spec.containers[0].ports
      const metrics = ports.find((p: { name: string }) => p.name === 'metrics')
      assert.ok(ports.some((p: { name: string }) => p.name === 'http'))
      assert.equal(String(metrics?.containerPort), config.METRICS_PORT, workload.metadata.name)
      assert.equal(workload.spec.template.metadata.annotations['prometheus.io/port'], config.METRICS_PORT)
    }
    // In a pod, every interface (outside a container the services default to 127.0.0.1).
    assert.equal(config.HOST, '0.0.0.0')
    // The Services peers and batch clients use lead to pods these policies cover.
    for (const name of ['gateway-peers', 'gateway-batch', 'gateway']) {
      const service = base.find((o) => o.kind === 'Service' && o.metadata.name === name)
      assert.ok(selects(service.spec.selector, { ...podLabels, 'statefulset.kubernetes.io/pod-name': 'gateway-0' }))
    }
  })

  test('monitoring: the PodMonitor scrapes both Deployments on their metrics port, job named as in compose', () => {
    const monitor = render(MONITORING).find((o) => o.kind === 'PodMonitor')
    assert.equal(monitor.spec.jobLabel, 'app.kubernetes.io/name')
    assert.deepEqual(monitor.spec.selector.matchExpressions[0].values, ['gateway', 'replica'])
    for (const deployment of deployments) {
      const { labels } = deployment.spec.template.metadata
      assert.ok(monitor.spec.selector.matchExpressions[0].values.includes(labels['app.kubernetes.io/name']))
      const ports = deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)
      assert.ok(ports.includes(monitor.spec.podMetricsEndpoints[0].port), `${deployment.metadata.name} names its port`)
    }
  })

  test('local (kind, minikube): the custom autoscaler on the locally loaded switchyard:local, never pulled', () => {
    const objects = render('overlays/local')
    const custom = render('overlays/custom')
    for (const deployment of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      const container = deployment.spec.template.spec.containers[0]
      assert.equal(container.image, 'switchyard:local')
      assert.ok([undefined, 'IfNotPresent', 'Never'].includes(container.imagePullPolicy), 'a loaded image is used')
    }
    const withoutImages = (list: K8sObject[]) =>
      JSON.stringify(list).replaceAll('switchyard:local', 'switchyard:latest')
    assert.equal(withoutImages(objects), JSON.stringify(custom), 'the custom overlay otherwise')
  })

  test('keda: a ScaledObject on gateway_desired_replicas, one replica per unit', () => {
    const scaled = render('overlays/keda').find((o) => o.kind === 'ScaledObject')
    assert.equal(scaled.spec.scaleTargetRef.name, 'replica')
    const trigger = scaled.spec.triggers[0]
    assert.equal(trigger.type, 'prometheus')
    assert.match(trigger.metadata.query, /gateway_desired_replicas/)
    assert.equal(trigger.metadata.threshold, '1')
    assert.equal(trigger.metricType, 'AverageValue')
  })

  test('custom: the gateways elect a leader with a Lease and it scales the Deployment; RBAC grants what that code calls', async () => {
    const objects = render('overlays/custom')
    const gateway = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'gateway').spec.template.spec
    assert.equal(gateway.serviceAccountName, 'gateway')
    assert.equal(gateway.automountServiceAccountToken, true)
    const fieldValues: Record<string, string> = { 'metadata.namespace': 'switchyard', 'metadata.name': 'gateway-0' }
    const env = Object.fromEntries(
      gateway.containers[0].env.map((e: K8sObject) => [e.name, e.value ?? fieldValues[e.valueFrom.fieldRef.fieldPath]]),
    )
    assert.equal(env.AUTOSCALER, 'kubernetes')
    assert.equal(env.KUBE_DEPLOYMENT, 'replica')
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'switchyard').data
    const binding = objects.find((o) => o.kind === 'RoleBinding')
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'gateway', namespace: 'switchyard' }])
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === binding.roleRef.name)
    assert.equal(role.metadata.namespace, 'switchyard')

    // An API server that authorises every request against the rendered Role, as RBAC would.
    const denied: string[] = []
    const allowed = (method: string, url: string) => {
      // /apis/<group>/<version>/… or the core group's /api/v1/…; a GET without a name (and a query) is a list.
      const match = new URL(url, 'http://x').pathname.match(
        /^\/(?:apis\/([^/]+)\/[^/]+|api\/v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/,
      )
      if (!match || match[2] !== role.metadata.namespace) return false
      const [, group = '', , resource, name, subresource] = match
      const verb =
        method === 'GET' && name === undefined
          ? 'list'
          : { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch' }[method]
      const full = subresource ? `${resource}/${subresource}` : resource
      return role.rules.some(
        (rule: K8sObject) =>
          rule.apiGroups.includes(group) &&
          rule.resources.includes(full) &&
          rule.verbs.includes(verb) &&
          (!rule.resourceNames || (name !== undefined && rule.resourceNames.includes(name))),
      )
    }
    let lease: K8sObject | undefined
    let replicas = 3
    const podWrites: string[] = []
    const api = createServer(async (request, response) => {
      let text = ''
      for await (const chunk of request) text += chunk
      const send = (status: number, body: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      if (!allowed(request.method!, request.url!)) {
        denied.push(`${request.method} ${request.url}`)
        return send(403, { kind: 'Status', reason: 'Forbidden' })
      }
      const body = text ? JSON.parse(text) : undefined
      // The replica pods (one standby booted at full CPU, to be resized down) and the Deployment's template.
      if (request.url!.startsWith('/api/v1/namespaces/switchyard/pods')) {
        if (request.method === 'PATCH') podWrites.push(request.url!)
        return send(200, {
          kind: 'PodList',
          items: [
            {
              metadata: { name: 'replica-a', labels: { 'switchyard.dev/role': 'standby' } },
              spec: { containers: [{ name: 'replica', resources: { limits: { cpu: '1' } } }] },
              status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
            },
          ],
        })
      }
      if (request.url === '/apis/apps/v1/namespaces/switchyard/deployments/replica')
        return send(
          200,
          render('overlays/custom').find((o) => o.kind === 'Deployment' && o.metadata.name === 'replica'),
        )
      if (request.url!.endsWith('/scale')) {
        if (request.method === 'PATCH') replicas = body.spec.replicas
        return send(200, { kind: 'Scale', spec: { replicas } })
      }
      if (request.method === 'GET') return lease ? send(200, lease) : send(404, { kind: 'Status' })
      const version = Number(lease?.metadata.resourceVersion ?? 0) + 1
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(version) } }
      return send(request.method === 'POST' ? 201 : 200, lease)
    })
    api.listen(0, '127.0.0.1')
    await once(api, 'listening')
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-rbac-'))
    await writeFile(join(dir, 'token'), 'token')
    try {
      const config = loadGatewayConfig({
        env: {
          ...configMap,
          ...env,
          KUBE_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
          KUBE_TOKEN_FILE: join(dir, 'token'),
        },
        argv: [],
      })
      const connection = { apiUrl: config.kubeApiUrl!, tokenFile: config.kubeTokenFile, caFile: config.kubeCaFile }
      const call = await kubernetesClient(connection)
      const elector = new LeaseElector(call, leaseElectorOptions(config))
      const errors: unknown[] = []
      elector.on('error', (error) => errors.push(error))
      const actuator = await kubernetesActuator({
        ...connection,
        namespace: config.kubeNamespace,
        deployment: config.kubeDeployment,
        roles: { selector: config.kubePodSelector!, container: config.kubeContainer, standbyCpu: config.standbyCpu },
      })
      await elector.step() // read (none), create
      await elector.step() // read, renew
      assert.equal(elector.isLeader(), true)
      assert.equal(lease.spec.holderIdentity, 'gateway-0')
      assert.equal(await actuator.current(), 3)
      await actuator.apply(5)
      assert.equal(replicas, 5)
      // Standbys: 4 serving + 1 standby on the scale; the pods listed, the standby resized down in place.
      assert.equal(config.standby, 'auto')
      await actuator.apply(4, 1)
      assert.equal(replicas, 5)
      // The one pod listed kept as the standby: resized down in place; then wanted serving: labelled.
      await actuator.reconcile!(0, 1)
      await actuator.reconcile!(4, 1)
      assert.deepEqual(podWrites, [
        '/api/v1/namespaces/switchyard/pods/replica-a/resize',
        '/api/v1/namespaces/switchyard/pods/replica-a',
      ])
      await elector.stop() // release
      assert.equal(lease.spec.holderIdentity, '')
      assert.deepEqual(errors, [])
      assert.deepEqual(denied, [])
      // The check can fail: what the Role does not grant is refused.
      assert.equal((await call('GET', `/apis/coordination.k8s.io/v1/namespaces/switchyard/leases/other`)).status, 403)
      assert.equal(
        (await call('PATCH', '/apis/apps/v1/namespaces/switchyard/deployments/gateway/scale', {})).status,
        403,
      )
    } finally {
      api.close()
    }
  })

  test('custom: replica pods are born standbys, the replica Service selects serving ones, and CPU resizes without a restart', () => {
    const objects = render('overlays/custom')
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'replica')
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'replica')
    const labels = deployment.spec.template.metadata.labels
    assert.equal(labels['switchyard.dev/role'], 'standby')
    assert.equal(
      deployment.spec.selector.matchLabels['switchyard.dev/role'],
      undefined,
      'relabelling never orphans a pod',
    )
    assert.ok(!selects(service.spec.selector, labels), 'a standby is not in the Service')
    assert.ok(selects(service.spec.selector, { ...labels, 'switchyard.dev/role': 'serving' }))
    const container = deployment.spec.template.spec.containers.find((c: K8sObject) => c.name === 'replica')
    assert.deepEqual(container.resizePolicy, [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }])
    // The base (HPA, KEDA) has no roles: its Service selects every replica pod.
    const base = render('base').find((o) => o.kind === 'Service' && o.metadata.name === 'replica')
    assert.equal(base.spec.selector['switchyard.dev/role'], undefined)
  })

  test('keda: every gateway shows the count for the whole pool, so the largest of them is what the pool needs', () => {
    const scaled = render('overlays/keda').find((o) => o.kind === 'ScaledObject')
    assert.match(scaled.spec.triggers[0].metadata.query, /^max\(gateway_desired_replicas/)
    assert.ok(render('overlays/keda').find((o) => o.kind === 'ConfigMap' && o.data?.PEER_DNS_NAME))
  })
})
