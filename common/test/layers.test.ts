/**
 * The layering docs/design.md promises, checked on the imports themselves: common/ imports no component, the
 * services never import each other (they speak HTTP), and only tests import the test helpers in common/testing/.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const sources = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean)
const IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g

/** Every relative import of every tracked TypeScript file, as repository paths. */
const imports = sources.flatMap((file) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)].map((m) => ({
    file,
    target: relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!))),
  })),
)
const isTest = (file: string) => /(^|\/)test\//.test(file) || file.startsWith('common/testing/')
const component = (file: string) => file.split('/')[0]!
const violations = (rule: (i: { file: string; target: string }) => boolean) =>
  imports.filter(rule).map((i) => `${i.file} → ${i.target}`)

test('the import scan sees the tree (a broken scan would pass every rule below)', () => {
  assert.ok(sources.length > 300, `${sources.length} files`)
  assert.ok(imports.some((i) => i.file === 'gateway/src/gateway.ts' && i.target === 'gateway/src/server.ts'))
})

test("common/'s own code imports no component", () => {
  assert.deepEqual(
    violations((i) => i.file.startsWith('common/') && !isTest(i.file) && component(i.target) !== 'common'),
    [],
  )
})

test("the replica's and the gateway's code never import each other (their tests may start both)", () => {
  const crosses = (from: string, to: string) => (i: { file: string; target: string }) =>
    component(i.file) === from && component(i.target) === to && !isTest(i.file)
  assert.deepEqual(violations(crosses('gateway', 'replica')), [])
  assert.deepEqual(violations(crosses('replica', 'gateway')), [])
})

test('only tests import the test helpers in common/testing/', () => {
  assert.deepEqual(
    violations((i) => i.target.startsWith('common/testing/') && !isTest(i.file)),
    [],
  )
})
