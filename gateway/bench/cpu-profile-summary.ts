/**
 * The top frames of a V8 `.cpuprofile` (what `node --cpu-prof` writes) by self time, and self time summed by where
 * the code lives (gateway, common, each package in node_modules, Node's internals): what `bench:gateway --cpu-prof`
 * prints after its profiled run. Also a command: node gateway/bench/cpu-profile-summary.ts FILE.cpuprofile [TOP] [REQUESTS]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export interface FrameTime {
  /** `function (file:line)`, or V8's `(garbage collector)`, `(program)`. */
  frame: string
  selfMs: number
  /** Of the busy time (idle left out). */
  share: number
}

/**
 * Self time per frame (same function, file and line merged) and per place, biggest first. The idle time is left
 * out of both (and of the shares): what costs is the time the process was busy.
 */
export function selfTimes(profile: CpuProfile): {
  busyMs: number
  idleMs: number
  frames: FrameTime[]
  places: FrameTime[]
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  // A sample's time is the gap to the next sample (V8's timeDeltas[i] is the gap before sample i).
  for (let i = 0; i < samples.length; i++) {
    const gap = deltas[i + 1] ?? 0
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, gap))
  }
  const frames = new Map<string, number>()
  const places = new Map<string, number>()
  let totalUs = 0
  let idleUs = 0
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!
    if (callFrame.functionName === '(idle)') {
      idleUs += us
      continue
    }
    totalUs += us
    const name = callFrame.functionName || '(anonymous)'
    const key = callFrame.url ? `${name} (${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1})` : name
    frames.set(key, (frames.get(key) ?? 0) + us)
    const place = placeOf(callFrame.url, name)
    places.set(place, (places.get(place) ?? 0) + us)
  }
  const ranked = (map: Map<string, number>) =>
    [...map]
      .map(([frame, us]) => ({ frame, selfMs: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs)
  return { busyMs: totalUs / 1000, idleMs: idleUs / 1000, frames: ranked(frames), places: ranked(places) }
}

/**
 * The summary as text: the top `top` frames, then self time by place. With `requests` (how many the process served
 * while profiled), each row also shows its µs per request: what compares between two profiles.
 */
export function formatSummary(profile: CpuProfile, top = 15, requests?: number): string {
  const { busyMs, idleMs, frames, places } = selfTimes(profile)
  const perRequest = (ms: number) => (requests ? `${((1000 * ms) / requests).toFixed(1).padStart(7)} µs/req ` : '')
  const row = (f: FrameTime) =>
    `${f.selfMs.toFixed(0).padStart(7)} ms ${perRequest(f.selfMs)}${(100 * f.share).toFixed(1).padStart(5)} %  ${f.frame}`
  const served = requests ? `, ${Math.round(requests)} requests: ${perRequest(busyMs).trim()} busy` : ''
  return [
    `busy ${busyMs.toFixed(0)} ms (idle ${idleMs.toFixed(0)} ms left out)${served}; top ${top} frames by self time:`,
    ...frames.slice(0, top).map(row),
    'self time by place:',
    ...places.slice(0, 12).map(row),
  ].join('\n')
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length)
  const project = path.search(/\/(gateway|common|replica|loadtester)\//)
  return project >= 0 ? path.slice(project + 1) : path
}

function placeOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const [scopeOrName, scoped] = path.slice(modules + '/node_modules/'.length).split('/')
    return scopeOrName!.startsWith('@') ? `${scopeOrName}/${scoped}` : scopeOrName!
  }
  const component = path.match(/\/(gateway|replica|loadtester)\/(src|bench)\//)
  if (component) return `${component[1]}/${component[2]}`
  return /\/common\//.test(path) ? 'common' : path
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top, requests] = process.argv.slice(2)
  if (!file || file === '--help' || file === '-h') {
    console.log('Usage: node gateway/bench/cpu-profile-summary.ts FILE.cpuprofile [TOP] [REQUESTS]')
    process.exit(file ? 0 : 2)
  }
  console.log(
    formatSummary(
      JSON.parse(readFileSync(file, 'utf8')) as CpuProfile,
      Number(top) || 15,
      Number(requests) || undefined,
    ),
  )
}
