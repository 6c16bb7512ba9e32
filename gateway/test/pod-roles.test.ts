import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type ObservedPod,
  observePods,
  planPodChanges,
  ROLE_LABEL,
  templateCpu,
} from '../src/autoscale/actuators/pod-roles.ts'
import { cpuMillicores } from '../src/autoscale/cpu-quantity.ts'

test('CPU quantities in millicores; anything else is not one', () => {
  assert.equal(cpuMillicores('1'), 1000)
  assert.equal(cpuMillicores('0.05'), 50)
  assert.equal(cpuMillicores('50m'), 50)
  assert.equal(cpuMillicores('1.5'), 1500)
  assert.equal(cpuMillicores(2), 2000)
  for (const bad of ['', 'one', '-1', '1Gi', '5 m', undefined, null, {}]) assert.equal(cpuMillicores(bad), undefined)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), (milli) => {
      assert.equal(cpuMillicores(`${milli}m`), milli)
      assert.equal(cpuMillicores(String(milli / 1000)), milli)
    }),
  )
})

const item = (name: string, role: string | undefined, ready: boolean, cpu: string, extra: object = {}) => ({
  metadata: {
    name,
    creationTimestamp: '2026-12-07T06:00:00Z',
    labels: { 'app.kubernetes.io/name': 'replica', ...(role ? { [ROLE_LABEL]: role } : {}) },
  },
  spec: { containers: [{ name: 'replica', resources: { requests: { cpu }, limits: { cpu } } }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  ...extra,
})

test('pods as the plan sees them: role from the label (none: serving), readiness, CPU; terminating ones left out', () => {
  const pods = observePods(
    {
      items: [
        item('a', 'serving', true, '1'),
        item('b', 'standby', true, '50m'),
        item('c', undefined, false, '1'),
        { ...item('d', 'standby', true, '1'), metadata: { name: 'd', deletionTimestamp: 'now' } },
        { metadata: { name: 'e', labels: { [ROLE_LABEL]: 'standby' } }, status: { phase: 'Pending' } },
      ],
    },
    'replica',
  )
  assert.deepEqual(
    pods.map((p) => [p.name, p.role, p.phase, p.cpuMillicores]),
    [
      ['a', 'serving', 'ready', 1000],
      ['b', 'standby', 'ready', 50],
      ['c', 'serving', 'booting', 1000],
      ['e', 'standby', 'pending', undefined],
    ],
  )
  assert.deepEqual(observePods({ kind: 'Scale' }, 'replica'), [])
  assert.deepEqual(observePods(undefined, 'replica'), [])
  assert.equal(
    templateCpu(
      { spec: { template: { spec: { containers: [item('x', undefined, true, '600m').spec.containers[0]] } } } },
      'replica',
    ),
    '600m',
  )
  assert.equal(templateCpu({ kind: 'Scale' }, 'replica'), undefined)
})

const CPU = { serving: '1', standby: '50m' }
const pod = (name: string, role: ObservedPod['role'], phase: ObservedPod['phase'], cpu: number): ObservedPod => ({
  name,
  role,
  phase,
  cpuMillicores: cpu,
  createdAt: Number(name.slice(1)),
})

test('promotion resizes a waiting standby up before labelling it serving; one still booting is only relabelled', () => {
  const pods = [
    pod('p1', 'serving', 'ready', 1000),
    pod('p2', 'standby', 'ready', 50),
    pod('p3', 'standby', 'booting', 1000),
  ]
  assert.deepEqual(planPodChanges(pods, { serving: 3, standby: 0 }, CPU), [
    { pod: 'p2', kind: 'resize', cpu: '1' },
    { pod: 'p2', kind: 'label', role: 'serving' },
    { pod: 'p3', kind: 'label', role: 'serving' },
  ])
})

test('a standby that has booted at full CPU is resized down to wait; a demoted pod is unlabelled first, resized later', () => {
  const fresh = [pod('p1', 'serving', 'ready', 1000), pod('p2', 'standby', 'ready', 1000)]
  assert.deepEqual(planPodChanges(fresh, { serving: 1, standby: 1 }, CPU), [{ pod: 'p2', kind: 'resize', cpu: '50m' }])
  const two = [pod('p1', 'serving', 'ready', 1000), pod('p2', 'serving', 'ready', 1000)]
  assert.deepEqual(planPodChanges(two, { serving: 1, standby: 1 }, CPU), [
    { pod: 'p2', kind: 'label', role: 'standby' },
  ])
  // The next pass, once it is a standby: resized down.
  const after = [pod('p1', 'serving', 'ready', 1000), pod('p2', 'standby', 'ready', 1000)]
  assert.deepEqual(planPodChanges(after, { serving: 1, standby: 1 }, CPU), [{ pod: 'p2', kind: 'resize', cpu: '50m' }])
  // In line already: nothing to do.
  const settled = [pod('p1', 'serving', 'ready', 1000), pod('p2', 'standby', 'ready', 50)]
  assert.deepEqual(planPodChanges(settled, { serving: 1, standby: 1 }, CPU), [])
})

test("after a pass every ready pod has its role's CPU, a serving pod is never labelled before its resize, and a second pass changes nothing (property)", () => {
  const podArb = fc.record({
    role: fc.constantFrom('serving', 'standby') as fc.Arbitrary<ObservedPod['role']>,
    phase: fc.constantFrom('pending', 'booting', 'ready') as fc.Arbitrary<ObservedPod['phase']>,
    cpu: fc.constantFrom(50, 1000, 300),
  })
  fc.assert(
    fc.property(fc.array(podArb, { maxLength: 10 }), fc.nat(8), fc.nat(4), (specs, serving, standby) => {
      let pods = specs.map((s, i) => pod(`p${i}`, s.role, s.phase, s.cpu))
      const changes = planPodChanges(pods, { serving, standby }, CPU)
      for (const [i, change] of changes.entries()) {
        if (change.kind !== 'label' || change.role !== 'serving') continue
        const p = pods.find((q) => q.name === change.pod)!
        if (p.phase === 'ready' && p.cpuMillicores !== 1000)
          assert.deepEqual(changes[i - 1], { pod: p.name, kind: 'resize', cpu: '1' }, 'resized up just before')
      }
      // Apply, then the pass after (demoted pods are resized down on it), then a third changes nothing.
      const apply = (list: ObservedPod[], cs: typeof changes) =>
        list.map((p) => {
          const q = { ...p }
          for (const c of cs) {
            if (c.pod !== q.name) continue
            if (c.kind === 'label') q.role = c.role
            else q.cpuMillicores = cpuMillicores(c.cpu)
          }
          return q
        })
      pods = apply(pods, changes)
      pods = apply(pods, planPodChanges(pods, { serving, standby }, CPU))
      assert.deepEqual(planPodChanges(pods, { serving, standby }, CPU), [])
      for (const p of pods)
        if (p.phase === 'ready') assert.equal(p.cpuMillicores, p.role === 'serving' ? 1000 : 50, JSON.stringify(p))
    }),
  )
})
