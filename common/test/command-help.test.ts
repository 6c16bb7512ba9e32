/**
 * Every command in package.json answers `--help` with its usage and exits 0 without doing its job (no server, no
 * benchmark, no files written) — in a checkout with no `../shared` beside it, since help must not need the data.
 * And a command whose data is missing says so in one line instead of dying with a stack trace.
 */
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { MissingDataError } from '../config.ts'
import { sampleImages } from '../sample-images.ts'
import { runEntryPoint } from '../testing/run-command.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts

/** Scripts that run the toolchain or the test runner, not a command of ours; every other script must be one. */
const NOT_ENTRY_POINTS = new Set(['typecheck', 'lint', 'format', 'test', 'test:node', 'chaos', 'audit:prod'])

/** The TypeScript file a script runs (`node file.ts …`: Node strips the types itself), if it runs one. */
function entryPointOf(command: string): string | undefined {
  return /^node\s+([\w./-]+\.ts)(?:\s|$)/.exec(command.trim())?.[1]
}

/** Entry file → the scripts that run it (`start` and `gateway` are the same file). */
const entryPoints = new Map<string, string[]>()
for (const [name, command] of Object.entries(scripts)) {
  const file = entryPointOf(command)
  if (file) entryPoints.set(file, [...(entryPoints.get(file) ?? []), name])
}

/** Output a command prints once it is working rather than explaining itself: server and log lines, reports. */
const WORK = /listening|"level":|\b(?:INFO|WARN|ERROR)\b|written to|report: /

test('every script in package.json is either a TypeScript entry point (checked below) or a known tool', () => {
  const unclassified = Object.keys(scripts).filter(
    (name) => !NOT_ENTRY_POINTS.has(name) && !entryPointOf(scripts[name]!),
  )
  assert.deepEqual(unclassified, [], 'a new script that runs our code should be `node <file.ts>`, so --help is tested')
  assert.ok(entryPoints.size >= 14, `only ${entryPoints.size} entry points found in package.json`)
})

describe('--help prints usage and exits 0 without doing the work, even without ../shared', { concurrency: 4 }, () => {
  // A copy of the checkout (node_modules linked) in an empty temporary folder: no ../shared beside it.
  const parent = mkdtempSync(join(tmpdir(), 'switchyard-help-'))
  const checkout = join(parent, 'main')
  before(() => {
    const skipped = new Set(['node_modules', '.git', 'out', '.cache'])
    cpSync(ROOT, checkout, {
      recursive: true,
      filter: (source) => !skipped.has(relative(ROOT, source).split(sep)[0]!),
    })
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir')
  })
  after(() => rmSync(parent, { recursive: true, force: true }))

  for (const [file, names] of entryPoints) {
    test(`npm run ${names.join(' / ')} -- --help (${file})`, async () => {
      const { code, signal, stdout, stderr } = await runEntryPoint(file, ['--help'], { cwd: checkout })
      assert.equal(signal, null, `still running after 30 s (it did the work instead?):\n${stdout}${stderr}`)
      assert.equal(code, 0, stderr)
      assert.equal(stderr, '', 'nothing on stderr')
      assert.ok(
        names.some((name) => stdout.startsWith(`Usage: npm run ${name}`)),
        `usage first on stdout, got:\n${stdout}`,
      )
      assert.doesNotMatch(stdout, WORK, 'nothing but the usage')
    })
  }

  test('without ../shared, a command that needs the sample images says so in one line (exit 1)', async () => {
    const { code, signal, stdout, stderr } = await runEntryPoint('replica/bench/replica-bench.ts', [], {
      cwd: checkout,
    })
    assert.equal(signal, null, 'it should stop at once, not run the benchmark')
    assert.equal(code, 1, stderr)
    assert.equal(stdout, '')
    const lines = stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, `one line, no stack trace:\n${stderr}`)
    assert.match(
      lines[0]!,
      /^sample images not found: .*shared[/\\]images[/\\]imagenet-sample .*put the ImageNet sample/,
    )
  })
})

test('npm run load -- --images /nonexistent: one line naming the directory and how to give one, no stack trace', async () => {
  const missing = join(tmpdir(), 'switchyard-no-such-images')
  const { code, stdout, stderr } = await runEntryPoint('loadtester/src/main.ts', ['--images', missing], { cwd: ROOT })
  assert.notEqual(code, 0)
  assert.equal(stdout, '')
  const lines = stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line, no stack trace:\n${stderr}`)
  assert.ok(lines[0]!.startsWith(`image directory ${missing} does not exist`), lines[0])
  assert.match(lines[0]!, /--images DIR/)
})

test('missing sample images are a MissingDataError of one line saying where to put them', () => {
  assert.throws(
    () => sampleImages(join(tmpdir(), 'switchyard-no-such-images')),
    (error: unknown) =>
      error instanceof MissingDataError &&
      !error.message.includes('\n') &&
      /switchyard-no-such-images does not exist/.test(error.message) &&
      /\.\.\/shared\/images\/imagenet-sample beside the repository/.test(error.message),
  )
})
