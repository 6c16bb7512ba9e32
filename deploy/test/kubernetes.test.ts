import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { validateRegistryState } from '../../common/model-registry/state.ts'

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
        assert.equal(object.metadata.namespace ?? 'switchyard', 'switchyard')
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
    const rule = render(MONITORING).find((o) => o.kind === 'PrometheusRule')
    delete rule.spec.groups[0].rules[0].expr
    await assert.rejects(async () => (await modelFor(rule)).validate(), /expr/)
  })
})

describe('k8s/ manifests keep their promises', () => {
  const base = render('base')
  const deployments = base.filter((o) => o.kind === 'Deployment')

  test('every Deployment: non-root, read-only root filesystem, no privilege escalation, probes, limits, grace ≥ drain', () => {
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

  test('the gateway keeps batch jobs on a persistent volume at DATA_DIR, one pod at a time', () => {
    const gateway = deployments.find((d) => d.metadata.name === 'gateway')
    const pod = gateway.spec.template.spec
    const env = Object.fromEntries(pod.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]))
    const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === env.DATA_DIR)
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name)
    const claim = base.find(
      (o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === volume.persistentVolumeClaim.claimName,
    )
    assert.ok(claim, 'the claim is part of the base')
    assert.equal(gateway.spec.strategy.type, 'Recreate')
    assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup)
  })

  test('replicas: 1 CPU / 1 GiB with requests = limits, behind a headless Service, with a disruption budget', () => {
    const replica = deployments.find((d) => d.metadata.name === 'replica').spec.template.spec.containers[0]
    assert.deepEqual(replica.resources.requests, { cpu: '1', memory: '1Gi' })
    assert.deepEqual(replica.resources.limits, replica.resources.requests)
    const service = base.find((o) => o.kind === 'Service' && o.metadata.name === 'replica')
    assert.equal(service.spec.clusterIP, 'None')
    assert.ok(base.find((o) => o.kind === 'PodDisruptionBudget'))
    const config = base.find((o) => o.kind === 'ConfigMap').data
    assert.equal(config.DISCOVERY, 'dns')
    assert.equal(config.REPLICA_DNS_NAME, 'replica.switchyard.svc.cluster.local')
  })

  test('the gateway reads the model registry from a ConfigMap mounted as a folder (so updates reach it), a valid state', () => {
    const gateway = deployments.find((d) => d.metadata.name === 'gateway').spec.template.spec
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

  test('monitoring: the PodMonitor scrapes both Deployments on their http port, job named as in compose', () => {
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
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
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

  test('custom: the gateway scales the Deployment itself, allowed exactly that by RBAC', () => {
    const objects = render('overlays/custom')
    const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway').spec.template.spec
    assert.equal(gateway.serviceAccountName, 'gateway')
    const env = Object.fromEntries(
      gateway.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    )
    assert.equal(env.AUTOSCALER, 'kubernetes')
    assert.equal(env.KUBE_DEPLOYMENT, 'replica')
    const role = objects.find((o) => o.kind === 'Role')
    assert.deepEqual(role.rules, [
      {
        apiGroups: ['apps'],
        resources: ['deployments/scale'],
        resourceNames: ['replica'],
        verbs: ['get', 'patch', 'update'],
      },
    ])
    const binding = objects.find((o) => o.kind === 'RoleBinding')
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'gateway', namespace: 'switchyard' }])
  })
})
