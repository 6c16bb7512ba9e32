import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { call } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { runLoad } from '../../loadtester/src/runner.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const images = sampleImages()
  .filter((_, i) => i % 50 === 0)
  .map((image) => ({ name: image.name, bytes: image.bytes(), truth: undefined }))

interface Stack {
  npm: ChildProcess
  url: string
  marker: string
  exited: Promise<number | string>
  logged: (message: string) => Promise<void>
  said: (message: string) => boolean
}

/**
 * `npm start` as a terminal runs it: in a process group of its own (the terminal's foreground group), so a
 * "Ctrl-C" here is SIGINT to the whole group — npm, the gateway and anything else in it — exactly as a keypress.
 */
async function npmStart(): Promise<Stack> {
  const marker = `ctrl-c-test-${process.pid}-${Math.random().toString(36).slice(2)}`
  const npm = spawn('npm', ['start', '--', '--port', '0', '--local-replicas', '2', '--autoscaler', 'none'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, LOG_FORMAT: 'json', SWITCHYARD_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(npm, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  const messages: string[] = []
  const waiters: { message: string; resolve: () => void }[] = []
  createInterface({ input: npm.stdout! }).on('line', (line) => {
    const message = parseMessage(line)
    if (message === undefined) return
    messages.push(message.msg)
    for (const waiter of waiters.filter((w) => message.msg.startsWith(w.message))) waiter.resolve()
    if (message.url && message.msg === 'gateway listening') url.resolve(message.url)
  })
  npm.stderr!.resume()
  const url = Promise.withResolvers<string>()
  void exited.then((code) => url.reject(new Error(`npm start exited (${code}) before listening`)))
  const logged = (message: string) =>
    messages.some((m) => m.startsWith(message))
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ message, resolve }))
  const gatewayUrl = await url.promise
  await untilOk(`${gatewayUrl}/readyz`, 'the gateway')
  // Both replicas routable, so the load below is well within capacity.
  while (
    (await call(`${gatewayUrl}/replicas`)).body.replicas.filter((r: { routable: boolean }) => r.routable).length < 2
  ) {
    await logged('replica routability changed')
  }
  const said = (message: string) => messages.some((m) => m.startsWith(message))
  return { npm, url: gatewayUrl, marker, exited, logged, said }
}

function parseMessage(line: string): { msg: string; url?: string } | undefined {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; url?: unknown }
    return typeof parsed.msg === 'string'
      ? { msg: parsed.msg, ...(typeof parsed.url === 'string' && { url: parsed.url }) }
      : undefined
  } catch {
    return undefined
  }
}

/** Processes still running with the marker in their environment: the gateway and replicas of one stack. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      return readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker) ? [Number(entry)] : []
    } catch {
      return []
    }
  })
}

describe('Ctrl-C on npm start (SIGINT to its process group, as a terminal sends it)', () => {
  test('the first Ctrl-C drains: every request in flight at that moment is served, then everything exits', async () => {
    const stack = await npmStart()
    let signalledAt = 0
    const result = await runLoad({
      target: stack.url,
      workload: [12, 12, 12, 12, 12],
      arrival: 'poisson',
      seed: 5,
      images,
      timeoutMs: 20_000,
      concurrencyCap: 1000,
      pollReplicas: false,
      onTick: ({ elapsedS }) => {
        if (signalledAt === 0 && elapsedS >= 2) {
          signalledAt = performance.now()
          process.kill(-stack.npm.pid!, 'SIGINT')
        }
      },
    })
    // npm waits for its script, then re-raises the SIGINT it got on itself (what a shell expects of it).
    assert.ok([0, 'SIGINT'].includes(await stack.exited))
    assert.ok(stack.said('drained; exiting'), 'the gateway drained and exited by itself')
    assert.ok(!stack.said('second SIGINT'), 'the relayed copy of the one Ctrl-C was not taken for a second one')
    assert.deepEqual(processesWith(stack.marker), [], 'no gateway or replica process is left')
    const signalAtMs = signalledAt - result.startMs
    const sentBefore = result.records.filter((r) => r.sentMs !== undefined && r.sentMs < signalAtMs - 50)
    const inFlight = sentBefore.filter((r) => r.answeredMs === undefined || r.answeredMs > signalAtMs)
    assert.ok(sentBefore.length >= 10, `${sentBefore.length} requests before the Ctrl-C`)
    assert.deepEqual(
      sentBefore.map((r) => r.status).filter((s) => s !== 200),
      [],
      `every request accepted before the Ctrl-C is answered 200 (${inFlight.length} were in flight)`,
    )
  })

  test('a second Ctrl-C (not the relayed copy of the first) exits at once, replicas included', async (t) => {
    const stack = await npmStart()
    // A queue that takes many seconds to drain: long deadlines, twice what two replicas serve.
    const load = runLoad({
      target: stack.url,
      workload: [80, 80, 80, 80, 80, 80],
      arrival: 'uniform',
      seed: 6,
      images,
      timeoutMs: 30_000,
      concurrencyCap: 2000,
      pollReplicas: false,
    })
    while (((await call(`${stack.url}/queue`)).body.size as number) < 40) await once(stack.npm.stdout!, 'data')
    process.kill(-stack.npm.pid!, 'SIGINT')
    await stack.logged('draining before exit')
    const queued = (await call(`${stack.url}/queue`).catch(() => ({ body: { size: 0 } }))).body.size as number
    // The stimulus is a second keypress, which by definition comes later than the duplicate window (500 ms).
    await new Promise((resolve) => setTimeout(resolve, 700))
    process.kill(-stack.npm.pid!, 'SIGINT')
    const code = await stack.exited
    assert.notEqual(code, 0, 'a forced exit is not a clean one')
    await stack.logged('second SIGINT: exiting without draining')
    await load
    // The replicas were told to stop; each exits once its own short drain is done.
    await t.waitFor(() => assert.deepEqual(processesWith(stack.marker), []), { interval: 100, timeout: 30_000 })
    assert.ok(queued > 0, 'there was still work queued when the second Ctrl-C came')
  })
})
