/**
 * `npm run bench:service-time` — measures how long a real replica holds a request (one at a time, one onnxruntime
 * thread, the sample ImageNet JPEGs) and fits the distribution the simulator draws from. Writes
 * simulator/data/service-time-replica.json (committed, so simulations are reproducible and say what they used).
 */
import { Pool } from 'undici'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { cpuInfo, describeCpu } from '../../common/measure/cpu-info.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { spawnReplica } from '../../common/service-process.ts'
import { fitServiceTime, MEASURED_SERVICE_TIME, writeServiceTime } from './service-time.ts'

configFromCommandLine(
  'bench:service-time',
  {},
  undefined,
  'Measures how long a real replica holds a request and fits the distribution the simulator draws from. Needs the\n' +
    'sample images (../shared/images/imagenet-sample); writes simulator/data/service-time-replica.json.',
)
for (const line of describeCpu()) console.log(line)

const SAMPLES = 400
const images = await Promise.all(dataOrExit(() => someSampleImages(200, 7)).map((i) => imageUpload(i.bytes())))

// Start-up: from spawning the process to the replica reporting ready (model built, session loaded, warm-up done).
const startups: number[] = []
for (let i = 0; i < 3; i++) {
  const started = performance.now()
  const probe = await spawnReplica({ args: ['--log-level', 'warn'] })
  startups.push(performance.now() - started)
  probe.child.kill('SIGTERM')
  await probe.exited
}
const startupMs = Math.round(startups.reduce((a, b) => a + b, 0) / startups.length)

const replica = await spawnReplica({ args: ['--log-level', 'warn'] })
const pool = new Pool(replica.url, { connections: 1 })
const send = async (i: number) => {
  const { body, contentType } = images[i % images.length]!
  const started = performance.now()
  const response = await pool.request({
    path: '/predict',
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
  })
  await response.body.dump()
  if (response.statusCode !== 200) throw new Error(`replica answered ${response.statusCode}`)
  return performance.now() - started
}
for (let i = 0; i < 20; i++) await send(i)
const samples: number[] = []
for (let i = 0; i < SAMPLES; i++) samples.push(await send(i))
await pool.close()
replica.child.kill('SIGTERM')
await replica.exited

const model = {
  ...fitServiceTime(samples, `replica over HTTP, one request at a time, 1 onnxruntime thread, ${cpuInfo().model}`),
  startup_ms: startupMs,
}
const path = MEASURED_SERVICE_TIME
writeServiceTime(path, model)
console.log(
  `${SAMPLES} samples: mean ${model.mean_ms} ms, p50 ${model.p50_ms} ms, p99 ${model.p99_ms} ms; ` +
    `start-up ${startupMs} ms (mean of 3) → ${path}`,
)
