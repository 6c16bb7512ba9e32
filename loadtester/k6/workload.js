// Replays a Switchyard workload file with k6, for users who have k6 (https://k6.io):
//
//   k6 run -e TARGET=http://localhost:8080 -e WORKLOAD=../../workload/workload.txt loadtester/k6/workload.js
//
// Options (environment): TARGET (gateway or replica base URL), WORKLOAD (path, relative to this script),
// SCALE (multiply every rate), IMAGE (a JPEG to send, relative to this script), TIMEOUT_MS, SLO_MS, MODEL (sent as
// X-Model, e.g. darknet-tiny).
// Each second of the file becomes one `ramping-arrival-rate` stage, so k6 keeps the arrival rate whatever the
// latency (an open loop, like `npm run load`).
import { check } from 'k6'
import http from 'k6/http'
import { parseWorkload, stagesFromWorkload } from './workload-format.js'

const target = __ENV.TARGET || 'http://localhost:8080'
const values = parseWorkload(open(__ENV.WORKLOAD || '../../workload/workload.txt'))
const scale = Number(__ENV.SCALE || 1)
const image = open(__ENV.IMAGE || '../fixtures/gradient-1.jpg', 'b')
const timeoutMs = Number(__ENV.TIMEOUT_MS || 10000)
const sloMs = Number(__ENV.SLO_MS || 500)
const modelHeader = __ENV.MODEL ? { 'X-Model': __ENV.MODEL } : {}
const peak = Math.max(...values) * scale

export const options = {
  scenarios: {
    replay: {
      executor: 'ramping-arrival-rate',
      startRate: Math.round(values[0] * scale),
      timeUnit: '1s',
      preAllocatedVUs: Math.ceil(peak * 2),
      maxVUs: Math.ceil(peak * 20),
      stages: stagesFromWorkload(values, scale),
    },
  },
  thresholds: { 'http_req_duration{expected_response:true}': [`p(99)<${sloMs}`] },
}

export default function () {
  const response = http.post(
    `${target}/predict`,
    { file: http.file(image, 'image.jpg', 'image/jpeg') },
    { timeout: `${timeoutMs}ms`, headers: { 'X-Timeout-Ms': String(timeoutMs), ...modelHeader } },
  )
  check(response, { 'status is 200': (r) => r.status === 200 })
}
