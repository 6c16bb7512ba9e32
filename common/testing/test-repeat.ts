/**
 * `npm run test:repeat -- FILE… [--times N]` — runs test files N times, one run after another (as CI runs them),
 * and reports each test's failures out of N. For the files whose tests touch time, load or processes: a test that
 * fails once in N healthy runs is a bug, and this is how to find it before CI does.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { wantsHelp } from '../config.ts'

const USAGE = `Usage: npm run test:repeat -- FILE… [--times N]   (N defaults to 10)

Runs the test files N times in a row and prints, per test, how many runs it failed; exits 1 if any did.`

const argv = process.argv.slice(2)
if (wantsHelp(argv)) {
  console.log(USAGE)
  process.exit(0)
}
const timesAt = argv.indexOf('--times')
const times = timesAt === -1 ? 10 : Number(argv[timesAt + 1])
const files = argv.filter((_, i) => i !== timesAt && i !== timesAt + 1)
if (!Number.isInteger(times) || times < 1) {
  console.error(`--times must be a whole number ≥ 1 (got ${argv[timesAt + 1]})`)
  process.exit(2)
}
if (files.length === 0 || files.some((f) => f.startsWith('-'))) {
  console.error(
    files.length === 0 ? 'name at least one test file' : `unknown option ${files.find((f) => f.startsWith('-'))}`,
  )
  process.exit(2)
}

/** Test name (with its suites, "suite > test") → runs it failed, runs it passed. */
const tally = new Map<string, { failed: number; passed: number }>()
const diagnostics: string[] = []
for (let run = 1; run <= times; run++) {
  const started = performance.now()
  const { failedTests, code } = await runOnce(files)
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  console.error(
    `run ${run}/${times}: ${failedTests.length === 0 && code === 0 ? 'pass' : `FAIL (${failedTests.join('; ') || `exit ${code}`})`} in ${seconds} s`,
  )
}
const rows = [...tally].sort(([, a], [, b]) => b.failed - a.failed)
console.log(`\nfailed/runs  test`)
for (const [name, { failed, passed }] of rows) console.log(`${`${failed}/${failed + passed}`.padStart(11)}  ${name}`)
if (diagnostics.length > 0) console.log(`\ndiagnostics:\n${diagnostics.join('\n')}`)
process.exit(rows.some(([, r]) => r.failed > 0) ? 1 : 0)

/** One `node --test` run with the TAP reporter, its results folded into the tally. */
async function runOnce(testFiles: string[]): Promise<{ failedTests: string[]; code: number | null }> {
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-timeout=600000', ...testFiles], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // Listened for now: the process may well have exited by the time its output has been read.
  const exited = once(child, 'exit')
  const failedTests: string[] = []
  // TAP nests subtests by indentation (4 spaces a level); a suite's own line follows its children.
  const open: { name: string; hasChildren: boolean }[] = []
  const lines = createInterface({ input: child.stdout! })
  for await (const line of lines) {
    const subtest = /^(\s*)# Subtest: (.*)$/.exec(line)
    if (subtest) {
      const depth = subtest[1]!.length / 4
      open.length = depth
      if (depth > 0 && open[depth - 1]) open[depth - 1]!.hasChildren = true
      open[depth] = { name: subtest[2]!, hasChildren: false }
      continue
    }
    const diagnostic = /^\s*# (.*)$/.exec(line)
    if (diagnostic && !/^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(diagnostic[1]!)) {
      diagnostics.push(diagnostic[1]!)
      continue
    }
    const result = /^(\s*)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line)
    if (!result || result[4]) continue
    const depth = result[1]!.length / 4
    // A suite's line: its tests were counted one by one (a failing hook shows as a failing test of its own).
    if (open[depth]?.hasChildren) continue
    const path = [...open.slice(0, depth).map((o) => o?.name), result[3]!].filter(Boolean).join(' > ')
    const entry = tally.get(path) ?? { failed: 0, passed: 0 }
    if (result[2] === 'ok') entry.passed++
    else {
      entry.failed++
      failedTests.push(path)
    }
    tally.set(path, entry)
  }
  const [code] = (await exited) as [number | null]
  return { failedTests, code }
}
