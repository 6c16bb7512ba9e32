import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { readStateFile, recordGateVerdict } from '../../common/model-registry/state-file.ts'
import { runEntryPoint } from '../../common/testing/run-command.ts'

const CLI = fileURLToPath(new URL('../tools/models.ts', import.meta.url))
const DARKNET = fileURLToPath(new URL('../../../shared/models/darknet-tiny', import.meta.url))

/**
 * `npm run models` as a user runs it, on a models folder of its own: darknet-tiny v1 already there (a copy), the
 * shared darknet-tiny registered as v2, then canary, promote (and the gate's refusal), rollback, and every error.
 */
describe('npm run models', () => {
  const work = mkdtempSync(join(tmpdir(), 'models-cli-'))
  const modelsDir = join(work, 'models')
  const registryFile = join(work, 'state', 'models.json')
  cpSync(DARKNET, join(modelsDir, 'darknet-tiny', 'v1'), { recursive: true })
  const run = (...args: string[]) =>
    runEntryPoint(CLI, [...args, '--models-dir', modelsDir, '--model-registry-file', registryFile], {
      timeoutMs: 60_000,
    })
  const stateOf = async () => (await readStateFile(registryFile)).state.models['darknet-tiny']!

  test('register → list → canary → promote → rollback, and the errors a user can make', async () => {
    let result = await run('list')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /darknet-tiny\s+v1\s+production\s+1\s+yes\s+–\s+newest on disk/)
    assert.match(result.stdout, /not written yet: the embedded default/)

    result = await run('register', DARKNET)
    assert.equal(result.code, 1)
    assert.match(result.stderr, /which version is .*register .* VERSION/)
    result = await run('register', DARKNET, 'v2')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /registered darknet-tiny v2 \(staging\)/)
    assert.ok(existsSync(join(modelsDir, 'darknet-tiny', 'v2', 'model.json')))
    assert.deepEqual(
      Object.entries((await stateOf()).versions).map(([v, s]) => [v, s.stage]),
      [
        ['v1', 'production'],
        ['v2', 'staging'],
      ],
      'what served darknet-tiny until now became explicit production: registering changes no traffic',
    )
    result = await run('register', DARKNET, 'v2')
    assert.equal(result.code, 1)
    assert.match(result.stderr, /already/)

    for (const [args, code, message] of [
      [['canary', 'darknet-tiny', 'v2', '--weight', '1.5'], 2, /weight out of range/],
      [['canary', 'darknet-tiny', 'v2'], 1, /needs --weight/],
      [['promote', 'nope', 'v1'], 1, /no model named 'nope' \(unknown_model\)/],
      [['promote', 'darknet-tiny', 'v9'], 1, /no version 'v9' \(versions: v1, v2\) \(unknown_version\)/],
      [['promote', 'darknet-tiny'], 2, /missing arguments/],
      [['rollback', 'darknet-tiny'], 1, /nothing_to_roll_back/],
      [['frobnicate'], 2, /expected one of list, promote, rollback, canary, register/],
    ] as const) {
      const failed = await run(...args)
      assert.equal(failed.code, code, `${args.join(' ')}: ${failed.stderr}`)
      assert.match(failed.stderr, message)
    }

    result = await run('canary', 'darknet-tiny', 'v2', '--weight', '0.1')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /10 % of requests to v2, the rest to v1/)
    result = await run('list')
    assert.match(result.stdout, /darknet-tiny\s+v1\s+production\s+0\.9/)
    assert.match(result.stdout, /darknet-tiny\s+v2\s+staging\s+0\.1/)

    // The regression gate's verdict (what the gate writes): a failed gate stops promote unless --force.
    await recordGateVerdict(registryFile, 'darknet-tiny', 'v2', {
      passed: false,
      at: '2026-12-05T12:00:00.000Z',
      summary: 'top-1 −2.0 points',
    })
    result = await run('promote', 'darknet-tiny', 'v2')
    assert.equal(result.code, 1)
    assert.match(result.stderr, /failed its last regression gate .*top-1 −2\.0 points.*--force \(gate_failed\)/)
    assert.equal((await stateOf()).versions.v2!.stage, 'staging')
    result = await run('promote', 'darknet-tiny', 'v2', '--force')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /v2 is production \(was v1, now archived\)/)
    assert.equal((await stateOf()).canary, undefined)

    result = await run('rollback', 'darknet-tiny')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /production is v1 again \(was v2\)/)
    const state = await stateOf()
    assert.equal(state.versions.v1!.stage, 'production')
    assert.equal(state.versions.v2!.stage, 'staging')
  })

  test('fallback: set for a model with the same label set, refused for other labels or versions, cleared', async () => {
    // A model answering in two classes of its own: not a fallback for an ImageNet model.
    const other = join(modelsDir, 'two-classes', 'v1')
    mkdirSync(other, { recursive: true })
    writeFileSync(join(other, 'model.json'), '{}')
    writeFileSync(join(other, 'labels.json'), JSON.stringify(['cat', 'dog']))
    for (const [args, message] of [
      [['fallback', 'resnet18', 'two-classes@v1'], /answers in other classes than resnet18 .*\(labels_differ\)/],
      [['fallback', 'resnet18', 'darknet-tiny@v9'], /darknet-tiny has no version 'v9' .*\(unknown_version\)/],
      [['fallback', 'resnet18', 'nope@v1'], /no model named 'nope' \(unknown_model\)/],
    ] as const) {
      const failed = await run(...args)
      assert.equal(failed.code, 1, `${args.join(' ')}: ${failed.stderr}`)
      assert.match(failed.stderr, message)
    }
    const missing = await run('fallback', 'resnet18')
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /missing arguments/)

    // darknet-tiny answers in the ImageNet classes (in another order): a fallback for the built-in ResNet18.
    let result = await run('fallback', 'resnet18', 'darknet-tiny@v1')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /resnet18: requests that would miss their deadline are answered by darknet-tiny@v1/)
    let model = (await readStateFile(registryFile)).state.models.resnet18!
    assert.equal(model.fallback?.model, 'darknet-tiny')
    assert.equal(model.fallback?.version, 'v1')
    result = await run('list')
    assert.match(result.stdout, /fallback: resnet18 → darknet-tiny@v1/)

    // A model named alone: its production version (here the newest on disk).
    result = await run('fallback', 'resnet18', 'darknet-tiny')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /answered by darknet-tiny@v\d/)

    result = await run('fallback', 'resnet18', '--clear')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /resnet18: fallback darknet-tiny@v1 cleared/)
    model = (await readStateFile(registryFile)).state.models.resnet18!
    assert.equal(model.fallback, undefined)
  })
})
