/**
 * `npm run frontier` — the cost–SLO plane: every baseline swept over its knob (HPA CPU target 20–90 %, KEDA's
 * threshold on gateway_desired_replicas, KEDA-on-queue per replica, fixed N), the custom policy at several wait-tail
 * shares (10^−1 … 10^−5), and the clairvoyant reference, each as the mean and range over seeds, at each start-up and scale.
 * Prints, per scenario, whether any baseline dominates custom's defaults and how far custom is from the
 * clairvoyant; writes frontier.json and one SVG per scenario.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { meansOf, targetAgainstHpa, wholeCoreScenario } from './compare.ts'
import { costOverClairvoyant, dominatingBaselines, type FrontierPoint, measureSweep } from './frontier.ts'
import { frontierSpec } from './frontier-config.ts'
import { frontierSvg } from './frontier-svg.ts'
import { formatShare } from './report.ts'
import { readServiceTime } from './service-time.ts'

const config = configFromCommandLine('frontier', frontierSpec)
const base = dataOrExit(() => readWorkload(config.workload))
const serviceTime = dataOrExit(() => readServiceTime(config.serviceTime))
const seeds = Array.from({ length: config.seeds }, (_, i) => i + 1)
const pct = formatShare
mkdirSync(config.out, { recursive: true })

const scenarios: { scale: number; startupS: number; points: FrontierPoint[] }[] = []
for (const scale of config.scales)
  for (const startupS of config.startupS) {
    const started = performance.now()
    const workload = base.map((v) => Math.round(v * scale))
    const scenario = wholeCoreScenario(workload, serviceTime, startupS * 1000, config.sloMs)
    const points = measureSweep(scenario, seeds)
    scenarios.push({ scale, startupS, points })
    const custom = points.find((p) => p.family === 'custom' && p.isDefault)!
    const hpa = points.find((p) => p.family === 'hpa' && p.isDefault)!
    const dominating = dominatingBaselines(custom, points)
    const gap = costOverClairvoyant(custom, points)
    console.log(
      `×${scale}, start-up ${startupS} s (${points.length} configurations × ${seeds.length} seeds, ${((performance.now() - started) / 1000).toFixed(0)} s):`,
    )
    console.log(
      `${'family'.padEnd(12)} ${'knob'.padStart(5)} ${'over SLO, mean [range]'.padStart(28)} ${'replica-s, mean [range]'.padStart(26)}`,
    )
    for (const p of points)
      console.log(
        `${`${p.family}${p.isDefault ? '*' : ''}`.padEnd(12)} ${String(p.knob).padStart(5)} ${`${pct(p.slowShare.mean)} [${pct(p.slowShare.min)}–${pct(p.slowShare.max)}]`.padStart(28)} ${`${p.replicaSeconds.mean.toFixed(0)} [${p.replicaSeconds.min.toFixed(0)}–${p.replicaSeconds.max.toFixed(0)}]`.padStart(26)}`,
      )
    const target = targetAgainstHpa(meansOf(custom), meansOf(hpa))
    console.log(
      `custom* vs hpa* (70 %): violations ×${target.slowRatio.toFixed(3)} (target ≤ 0.1), replica-seconds ×${target.costRatio.toFixed(2)} (target ≤ 1); ` +
        `dominated by ${dominating.length === 0 ? 'no baseline' : dominating.map((d) => `${d.family} ${d.knob}`).join(', ')}; ` +
        `replica-seconds over the cheapest clairvoyant within 1 %: ${gap === undefined ? 'none within 1 %' : `${(gap * 100).toFixed(0)} %`}\n`,
    )
    writeFileSync(
      join(config.out, `frontier-x${scale}-startup-${startupS}s.svg`),
      frontierSvg(points, `${config.workload} ×${scale}, start-up ${startupS} s: mean over ${seeds.length} seeds`),
    )
  }
writeFileSync(
  join(config.out, 'frontier.json'),
  `${JSON.stringify({ workload: config.workload, seeds, sloMs: config.sloMs, scenarios }, null, 2)}\n`,
)
console.log(`written to ${config.out}/frontier.json and ${config.out}/frontier-*.svg`)
