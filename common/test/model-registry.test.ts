import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { compareVersions, parseModelSelector } from '../http/model-selection.ts'
import { sameLabelSet } from '../image-labels.ts'
import { EMBEDDED_DEFAULT_STATE, type RegistryState, validateRegistryState } from '../model-registry/state.ts'
import { readStateFile, recordGateVerdict, updateStateFile, writeStateFile } from '../model-registry/state-file.ts'
import { chooseVersion } from '../model-registry/traffic-split.ts'
import {
  clearFallback,
  promote,
  RegistryError,
  recordGate,
  registerVersion,
  rollback,
  setCanary,
  setFallback,
  stopCanary,
} from '../model-registry/transitions.ts'
import { modelViews, type Served } from '../model-registry/views.ts'

const NOW = '2026-12-05T12:00:00.000Z'

function twoVersions(): RegistryState {
  return { models: { m: { versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } } } } }
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    if (error instanceof RegistryError) return error.code
    throw error
  }
  return undefined
}

describe('the traffic split', () => {
  test('property: the candidate exactly when the draw is below its weight; no canary or weight 0 is production', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (weight, draw) => {
          const split = { production: 'v1', canary: { version: 'v2', weight } }
          assert.equal(chooseVersion(split, draw), draw < weight ? 'v2' : 'v1')
          assert.equal(chooseVersion({ production: 'v1' }, draw), 'v1')
          assert.equal(chooseVersion({ production: 'v1', canary: { version: 'v2', weight: 0 } }, draw), 'v1')
        },
      ),
    )
  })

  test('property: over uniform draws the candidate gets its weight (the share of an even grid is exact to 1/n)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), (thousandths) => {
        const weight = thousandths / 1000
        const n = 1000
        let candidate = 0
        for (let i = 0; i < n; i++)
          if (chooseVersion({ production: 'a', canary: { version: 'b', weight } }, i / n) === 'b') candidate++
        assert.ok(Math.abs(candidate / n - weight) <= 1 / n + 1e-12, `${candidate} of ${n} for weight ${weight}`)
      }),
    )
  })

  test('versions sort as people number them; NAME@VERSION splits at the first @', () => {
    assert.deepEqual(['v10', 'v2', 'v1'].sort(compareVersions), ['v1', 'v2', 'v10'])
    assert.deepEqual(['1.10', '1.9'].sort(compareVersions), ['1.9', '1.10'])
    assert.deepEqual(parseModelSelector('darknet-tiny@v2'), { name: 'darknet-tiny', version: 'v2' })
    assert.deepEqual(parseModelSelector('darknet-tiny'), { name: 'darknet-tiny' })
  })
})

describe('registry state validation', () => {
  test('the embedded default and a full state are valid', () => {
    validateRegistryState(EMBEDDED_DEFAULT_STATE)
    validateRegistryState({
      models: {
        m: {
          versions: {
            v1: { stage: 'production', gate: { passed: true, at: NOW } },
            v2: { stage: 'staging', rolled_back: { at: NOW, reason: 'slow' } },
            v0: { stage: 'archived' },
          },
          canary: { version: 'v2', weight: 0.25, since: NOW },
          history: ['v0'],
        },
      },
    })
  })

  const refused: [string, unknown, RegExp][] = [
    ['not an object', 42, /not a model registry state/],
    ['no models', {}, /models/],
    ['an unknown stage', { models: { m: { versions: { v1: { stage: 'live' } } } } }, /stage/],
    [
      'a weight above 1',
      {
        models: {
          m: {
            versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } },
            canary: { version: 'v2', weight: 2 },
          },
        },
      },
      /weight/,
    ],
    [
      'an unknown field (a typo)',
      { models: { m: { versions: { v1: { stage: 'production', wieght: 1 } } } } },
      /additional/,
    ],
    ['a bad model name', { models: { 'Bad Name': { versions: {} } } }, /property name/],
    [
      'two production versions',
      { models: { m: { versions: { v1: { stage: 'production' }, v2: { stage: 'production' } } } } },
      /at most one/,
    ],
    [
      'a canary of an unlisted version',
      { models: { m: { versions: { v1: { stage: 'production' } }, canary: { version: 'v9', weight: 0.1 } } } },
      /not listed/,
    ],
    [
      'a canary without production',
      { models: { m: { versions: { v2: { stage: 'staging' } }, canary: { version: 'v2', weight: 0.1 } } } },
      /production version to split/,
    ],
  ]
  for (const [what, json, reason] of refused) {
    test(`refused, saying why: ${what}`, () => assert.throws(() => validateRegistryState(json), reason))
  }
})

describe('registry transitions', () => {
  test('register → canary → promote → rollback, each step as a user expects', () => {
    let state: RegistryState = { models: {} }
    state = registerVersion(state, 'm', 'v2', NOW, 'v1').state
    assert.equal(state.models.m!.versions.v1!.stage, 'production', 'what served m until now is production, explicitly')
    assert.equal(state.models.m!.versions.v2!.stage, 'staging')
    state = setCanary(state, 'm', 'v2', 0.1, NOW).state
    assert.deepEqual(state.models.m!.canary, { version: 'v2', weight: 0.1, since: NOW })
    state = promote(state, 'm', 'v2').state
    assert.equal(state.models.m!.versions.v2!.stage, 'production')
    assert.equal(state.models.m!.versions.v1!.stage, 'archived')
    assert.equal(state.models.m!.canary, undefined, 'a promotion ends the canary')
    assert.deepEqual(state.models.m!.history, ['v1'])
    state = rollback(state, 'm', NOW).state
    assert.equal(state.models.m!.versions.v1!.stage, 'production')
    assert.equal(state.models.m!.versions.v2!.stage, 'staging')
    assert.equal(state.models.m!.versions.v2!.rolled_back?.reason, 'rolled back by hand')
    assert.equal(
      codeOf(() => rollback(state, 'm', NOW)),
      'nothing_to_roll_back',
    )
  })

  test('rollback with a canary in force stops the canary and leaves production alone', () => {
    const state = setCanary(twoVersions(), 'm', 'v2', 0.5, NOW).state
    const after = rollback(state, 'm', NOW).state
    assert.equal(after.models.m!.canary, undefined)
    assert.equal(after.models.m!.versions.v1!.stage, 'production')
  })

  test('clear refusals: unknown model or version, weight out of range, no production, gate failed (unless forced)', () => {
    assert.equal(
      codeOf(() => promote(twoVersions(), 'nope', 'v1')),
      'unknown_model',
    )
    assert.equal(
      codeOf(() => promote(twoVersions(), 'm', 'v9')),
      'unknown_version',
    )
    assert.equal(
      codeOf(() => promote(twoVersions(), 'm', 'v1')),
      'already_production',
    )
    for (const weight of [-0.1, 1.01, Number.NaN]) {
      assert.equal(
        codeOf(() => setCanary(twoVersions(), 'm', 'v2', weight, NOW)),
        'weight_out_of_range',
      )
    }
    const noProduction: RegistryState = { models: { m: { versions: { v2: { stage: 'staging' } } } } }
    assert.equal(
      codeOf(() => setCanary(noProduction, 'm', 'v2', 0.1, NOW)),
      'no_production',
    )
    const failed = recordGate(twoVersions(), 'm', 'v2', { passed: false, at: NOW, summary: 'top-1 −3.1 points' }).state
    assert.equal(
      codeOf(() => promote(failed, 'm', 'v2')),
      'gate_failed',
    )
    assert.match(
      String(
        (() => {
          try {
            promote(failed, 'm', 'v2')
          } catch (e) {
            return (e as Error).message
          }
        })(),
      ),
      /top-1 −3\.1 points.*--force/,
    )
    assert.equal(promote(failed, 'm', 'v2', { force: true }).state.models.m!.versions.v2!.stage, 'production')
    const passed = recordGate(failed, 'm', 'v2', { passed: true, at: NOW }).state
    assert.equal(promote(passed, 'm', 'v2').state.models.m!.versions.v2!.stage, 'production', 'the last verdict counts')
  })

  test('a version known only on disk can be promoted; stopCanary acts only on the canary still in force', () => {
    const state = promote(twoVersions(), 'm', 'v3', { versions: ['v1', 'v2', 'v3'] }).state
    assert.equal(state.models.m!.versions.v3!.stage, 'production')
    const canary = setCanary(twoVersions(), 'm', 'v2', 0.2, NOW).state
    assert.equal(stopCanary(canary, 'm', 'v3', NOW, 'x'), undefined)
    const stopped = stopCanary(canary, 'm', 'v2', NOW, 'p95 too high')!.state
    assert.equal(stopped.models.m!.canary, undefined)
    assert.equal(stopped.models.m!.versions.v2!.rolled_back?.reason, 'p95 too high')
    assert.equal(stopCanary(stopped, 'm', 'v2', NOW, 'again'), undefined, 'a second gateway finds nothing to do')
  })

  test('property: every sequence of transitions leaves a valid state (or refuses with a RegistryError)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('register' as const), version: fc.constantFrom('v1', 'v2', 'v3') }),
      fc.record({
        kind: fc.constant('promote' as const),
        version: fc.constantFrom('v1', 'v2', 'v3'),
        force: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('canary' as const),
        version: fc.constantFrom('v1', 'v2', 'v3'),
        weight: fc.double({ min: -0.5, max: 1.5, noNaN: true }),
      }),
      fc.record({ kind: fc.constant('rollback' as const) }),
      fc.record({
        kind: fc.constant('gate' as const),
        version: fc.constantFrom('v1', 'v2', 'v3'),
        passed: fc.boolean(),
      }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        let state: RegistryState = { models: {} }
        for (const o of ops) {
          try {
            state =
              o.kind === 'register'
                ? registerVersion(state, 'm', o.version, NOW).state
                : o.kind === 'promote'
                  ? promote(state, 'm', o.version, { versions: ['v1', 'v2', 'v3'], force: o.force }).state
                  : o.kind === 'canary'
                    ? setCanary(state, 'm', o.version, o.weight, NOW, { versions: ['v1', 'v2', 'v3'] }).state
                    : o.kind === 'rollback'
                      ? rollback(state, 'm', NOW).state
                      : recordGate(state, 'm', o.version, { passed: o.passed, at: NOW }).state
          } catch (error) {
            assert.ok(error instanceof RegistryError, String(error))
          }
          validateRegistryState(state)
          const views = modelViews(state, new Map())
          for (const view of views) {
            const total = view.versions.reduce((sum, v) => sum + v.weight, 0)
            assert.ok(view.split === undefined ? total === 0 : Math.abs(total - 1) < 1e-9, 'weights sum to 1')
          }
        }
      }),
    )
  })
})

describe('model views: stages and weights from the state and what replicas serve', () => {
  const served = (versions: Record<string, number>) =>
    new Map([
      ['m', new Map(Object.entries(versions).map(([v, ready]): [string, Served] => [v, { replicas: 1, ready }]))],
    ])

  test('nothing registered: the newest served version is production (implicit), the others staging', () => {
    const [view] = modelViews(EMBEDDED_DEFAULT_STATE, served({ v2: 1, v10: 1, v1: 1 }))
    assert.deepEqual(view!.split, { production: 'v10' })
    assert.deepEqual(
      view!.versions.map((v) => [v.version, v.stage, v.weight, v.implicit ?? false]),
      [
        ['v1', 'staging', 0, false],
        ['v2', 'staging', 0, false],
        ['v10', 'production', 1, true],
      ],
    )
  })

  test('a registered staging version never becomes production implicitly; a canary splits the weight', () => {
    const state: RegistryState = { models: { m: { versions: { v2: { stage: 'staging' } } } } }
    assert.equal(modelViews(state, served({ v1: 1, v2: 1 }))[0]!.split?.production, 'v1')
    const canary = setCanary(twoVersions(), 'm', 'v2', 0.1, NOW).state
    const [view] = modelViews(canary, served({ v1: 1, v2: 1 }))
    assert.deepEqual(
      view!.versions.map((v) => [v.version, v.stage, v.weight]),
      [
        ['v1', 'production', 0.9],
        ['v2', 'staging', 0.1],
      ],
    )
  })
})

describe('the state file', () => {
  test('a missing file is the embedded default; writes are whole (rename) and validated; the gate verdict is recorded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-'))
    const file = join(dir, 'nested', 'models.json')
    assert.deepEqual((await readStateFile(file)).state, EMBEDDED_DEFAULT_STATE)
    await writeStateFile(file, twoVersions())
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), twoVersions())
    const change = await recordGateVerdict(file, 'm', 'v2', { passed: false, at: NOW, summary: 'p95 +14 %' })
    assert.match(change.summary, /FAILED/)
    assert.deepEqual((await readStateFile(file)).state.models.m!.versions.v2!.gate, {
      passed: false,
      at: NOW,
      summary: 'p95 +14 %',
    })
    await assert.rejects(
      updateStateFile(file, (state) => promote(state, 'm', 'v2')),
      (error: unknown) => error instanceof RegistryError && error.code === 'gate_failed',
    )
    assert.deepEqual(await readdir(join(dir, 'nested')), ['models.json'], 'no temporary file left behind')
    await writeFile(file, '{"models": {"m": {"versions": {"v1": {"stage": "gone"}}}}}')
    await assert.rejects(readStateFile(file), /stage/)
  })
})

describe('brownout fallback in the registry state', () => {
  const labels = ['tench', 'goldfish', 'great white shark']
  const check = { fallbackVersions: ['v1', 'int8'], labels: { primary: labels, fallback: [...labels].reverse() } }

  test('set to another version or model with the same label set; shown by the views; cleared', () => {
    const set = setFallback(twoVersions(), 'm', { model: 'm', version: 'int8' }, NOW, check)
    assert.deepEqual(set.state.models.m!.fallback, { model: 'm', version: 'int8', since: NOW })
    assert.equal(modelViews(set.state, new Map()).find((v) => v.name === 'm')!.fallback, 'm@int8')
    const other = setFallback(twoVersions(), 'm', { model: 'tiny', version: 'v1' }, NOW, check)
    assert.equal(other.state.models.m!.fallback?.model, 'tiny')
    assert.deepEqual(validateRegistryState(JSON.parse(JSON.stringify(other.state))), other.state, 'survives a file')
    const cleared = clearFallback(set.state, 'm')
    assert.equal(cleared.state.models.m!.fallback, undefined)
    assert.match(cleared.summary, /fallback m@int8 cleared/)
    assert.match(clearFallback(cleared.state, 'm').summary, /no fallback was set/)
  })

  test('refused: unknown version, the production version itself, other labels', () => {
    assert.equal(
      codeOf(() => setFallback(twoVersions(), 'm', { model: 'm', version: 'v9' }, NOW, check)),
      'unknown_version',
    )
    assert.equal(
      codeOf(() => setFallback(twoVersions(), 'm', { model: 'm', version: 'v1' }, NOW, check)),
      'invalid_fallback',
    )
    const otherLabels = { ...check, labels: { primary: labels, fallback: ['cat', 'dog', 'tench'] } }
    assert.equal(
      codeOf(() => setFallback(twoVersions(), 'm', { model: 'tiny', version: 'v1' }, NOW, otherLabels)),
      'labels_differ',
    )
  })

  test('property: the same label set in any order and spelling (case, _), and not with one label changed', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        (set, seed) => {
          const rotated = [...set.slice(seed % set.length), ...set.slice(0, seed % set.length)]
          const shuffled = rotated.map((l, i) => (i % 2 ? l.toUpperCase() : l))
          assert.equal(sameLabelSet(set, shuffled), true)
          const changed = [...set]
          changed[seed % set.length] = `${changed[seed % set.length]}_x`
          assert.equal(sameLabelSet(set, changed), false)
          assert.equal(sameLabelSet(set, set.slice(1)), false, 'one label missing')
        },
      ),
    )
  })
})
