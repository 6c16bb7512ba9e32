import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  allowScripts: Record<string, boolean>
  engines: { node: string }
}
const ORT_BIN = join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64')

test('a fresh npm ci stays offline: onnxruntime-node’s install script (a CUDA download from NuGet) is denied', () => {
  // npm ≥ 11 reads allowScripts from the project's package.json (RFC npm/rfcs#868): a denied package still
  // installs, only its lifecycle scripts are skipped. The CPU runtime ships inside the npm package.
  assert.equal(pkg.allowScripts['onnxruntime-node'], false)
  if (process.platform === 'linux' && process.arch === 'x64') {
    assert.ok(existsSync(join(ORT_BIN, 'onnxruntime_binding.node')), 'the CPU binding is in the package')
    assert.ok(!existsSync(join(ORT_BIN, 'libonnxruntime_providers_cuda.so')), 'the CUDA provider was not downloaded')
  }
})

test('npm reads the project configuration without warnings (no unknown .npmrc keys)', () => {
  const run = spawnSync('npm', ['config', 'list'], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.doesNotMatch(run.stderr, /warn/i)
})

test('the runtime is the one the project targets (engines)', () => {
  const major = Number(process.versions.node.split('.')[0])
  assert.ok(major >= Number(/\d+/.exec(pkg.engines.node)![0]), `node ${process.version}, engines ${pkg.engines.node}`)
  // And on an older one, npm install stops at once (EBADENGINE) rather than installing a project that cannot start.
  const strict = spawnSync('npm', ['config', 'get', 'engine-strict'], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(strict.stdout.trim(), 'true')
})
