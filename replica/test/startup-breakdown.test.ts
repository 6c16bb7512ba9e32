import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import ort from 'onnxruntime-node'
import { call } from '../../common/http/call.ts'
import { spawnReplica } from '../../common/service-process.ts'
import { createOptimizedSession, optimizedModelPath } from '../src/model/optimized-session.ts'
import { buildUntrainedResnet18 } from '../src/model/resnet18-graph.ts'

const PHASES = [
  'process_ms',
  'imports_ms',
  'model_load_ms',
  'runtime_ms',
  'session_ms',
  'engines_ms',
  'server_ms',
  'warmup_ms',
  'total_ms',
] as const

test('a real replica logs one `startup` line with every phase, says it at /healthz, and notes the first passing probe', async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'switchyard-startup-'))
  const lines: Record<string, unknown>[] = []
  const answered: number[] = []
  // Twice on one cache: the first start fills it (optimised graphs saved: "miss"), the second loads them ("hit").
  try {
    for (const expected of ['miss', 'hit']) {
      lines.length = 0
      // The IPC ready message may overtake the log line on stdout: wait for the line itself.
      let logged: () => void
      const startupLogged = new Promise<void>((resolve) => {
        logged = resolve
      })
      const replica = await spawnReplica({
        args: ['--log-format', 'json', '--models-dir', 'none', '--model-cache-dir', cacheDir],
        onLog: (line) => {
          lines.push(JSON.parse(line))
          if (lines.at(-1)!.msg === 'startup') logged()
        },
        onSpawn: (child) =>
          child.on('message', (m: { type?: string; at_ms?: number }) => {
            if (m.type === 'ready_answered') answered.push(m.at_ms!)
          }),
      })
      try {
        await startupLogged
        const startup = lines.filter((l) => l.msg === 'startup')
        assert.equal(startup.length, 1, 'one startup line')
        const line = startup[0]!
        for (const phase of PHASES) assert.equal(typeof line[phase], 'number', `${phase} in ${JSON.stringify(line)}`)
        assert.ok((line.total_ms as number) >= (line.warmup_ms as number))
        assert.deepEqual(
          (line.models as { name: string; optimized_cache: string }[]).map((m) => [m.name, m.optimized_cache]),
          [['resnet18', expected]],
        )
        // The same breakdown reached the parent with the ready message.
        const sent = replica.startup as Record<string, unknown>
        assert.deepEqual(sent, Object.fromEntries(Object.entries(line).filter(([k]) => k in sent)))
        assert.equal(typeof replica.timeOrigin, 'number')

        const before = await call(`${replica.url}/healthz`)
        assert.equal(before.body.startup.total_ms, line.total_ms)
        assert.equal(before.body.startup.first_ready_answer_ms, undefined, 'no probe has passed yet')
        assert.equal((await call(`${replica.url}/readyz`)).status, 200)
        const after = await call(`${replica.url}/healthz`)
        assert.ok(after.body.startup.first_ready_answer_ms >= (line.total_ms as number))
        await call(`${replica.url}/readyz`)
        // Said once, however many probes follow.
        await call(`${replica.url}/healthz`)
      } finally {
        replica.child.kill('SIGTERM')
        await replica.exited
      }
    }
    assert.equal(answered.length, 2, 'one ready_answered message per start')
  } finally {
    await rm(cacheDir, { recursive: true, force: true })
  }
})

test("ONNX Runtime's optimised graph: saved on the first session, loaded on the next, re-made when the file is broken", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-optimized-'))
  try {
    const model = buildUntrainedResnet18(5, 10).bytes
    const path = optimizedModelPath(dir, 'f'.repeat(64))
    const options = { intraOpNumThreads: 1 }
    const outputs: number[][] = []
    for (const expected of ['miss', 'hit', 'broken', 'miss', 'off'] as const) {
      if (expected === 'broken') {
        await writeFile(path, 'not a model')
        continue
      }
      const { session, cache } = await createOptimizedSession(model, options, expected === 'off' ? undefined : path)
      assert.equal(cache, expected)
      const input = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224])
      const output = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!
      outputs.push([...(output.data as Float32Array)])
      await session.release()
    }
    // The same network however it was loaded.
    for (const output of outputs.slice(1))
      for (const [i, value] of output.entries()) assert.ok(Math.abs(value - outputs[0]![i]!) < 1e-3)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
