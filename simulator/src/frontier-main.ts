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
import {
  ATTAINMENT_TARGET_MISS,
  costOverClairvoyant,
  dominatingBaselines,
  type FrontierPoint,
  measureSweep,
} from './frontier.ts'
import { frontierSpec } from './frontier-config.ts'
import { frontierSvg } from './frontier-svg.ts'
import { readServiceTime } from './service-time.ts'

const config = configFromCommandLine('frontier', frontierSpec)
const base = dataOrExit(() => readWorkload(config.workload))
const serviceTime = dataOrExit(() => readServiceTime(config.serviceTime))
const seeds = Array.from({ length: config.seeds }, (_, i) => i + 1)
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
    const fixed = points.find((p) => p.family === 'fixed' && p.isDefault)!
    const dominating = dominatingBaselines(custom, points)
    const gap = costOverClairvoyant(custom, points)
    console.log(
      `×${scale}, start-up ${startupS} s (${points.length} configurations × ${seeds.length} seeds, ${((performance.now() - started) / 1000).toFixed(0)} s):`,
    )
    console.log(
      `${'family'.padEnd(12)} ${'knob'.padStart(5)} ${'attainment, mean [range]'.padStart(28)} ${'requested core-s [range]'.padStart(26)} ${'node-free'.padStart(10)}`,
    )
    const attained = (share: number) => `${(100 - share * 100).toFixed(2)} %`
    for (const p of points)
      console.log(
        `${`${p.family}${p.isDefault ? '*' : ''}`.padEnd(12)} ${String(p.knob).padStart(5)} ${`${attained(p.slowShare.mean)} [${attained(p.slowShare.max)}–${attained(p.slowShare.min)}]`.padStart(28)} ${`${p.requestedCoreSeconds.mean.toFixed(0)} [${p.requestedCoreSeconds.min.toFixed(0)}–${p.requestedCoreSeconds.max.toFixed(0)}]`.padStart(26)} ${p.nodeCoreSeconds.mean.toFixed(0).padStart(10)}`,
      )
    const target = targetAgainstHpa(meansOf(custom), meansOf(hpa))
    const meets = custom.slowShare.mean <= ATTAINMENT_TARGET_MISS
    console.log(
      `custom* (standbys auto): attainment ${attained(custom.slowShare.mean)} (target ≥ ${attained(ATTAINMENT_TARGET_MISS)}: ${meets ? 'met' : 'MISSED'}); ` +
        `requested ${custom.requestedCoreSeconds.mean.toFixed(0)} core-s vs the right-sized fixed-${fixed.knob}'s ${fixed.requestedCoreSeconds.mean.toFixed(0)} (${custom.requestedCoreSeconds.mean <= fixed.requestedCoreSeconds.mean ? 'within' : 'ABOVE'}); ` +
        `over the cheapest clairvoyant meeting the target: ${gap === undefined ? 'none meets it' : `${(gap * 100).toFixed(0)} % (target ≤ 15 %: ${gap <= 0.15 ? 'met' : 'MISSED'})`}; ` +
        `dominated by ${dominating.length === 0 ? 'no baseline' : dominating.map((d) => `${d.family} ${d.knob}`).join(', ')}; ` +
        `vs hpa* (70 %): violations ×${target.slowRatio.toFixed(3)}, replica-seconds ×${target.costRatio.toFixed(2)}\n`,
    )
    writeFileSync(
      join(config.out, `frontier-x${scale}-startup-${startupS}s.svg`),
      frontierSvg(
        points,
        `${config.workload} ×${scale}, start-up ${startupS} s: SLO attainment against requested cost, mean over ${seeds.length} seeds`,
      ),
    )
  }
writeFileSync(
  join(config.out, 'frontier.json'),
  `${JSON.stringify({ workload: config.workload, seeds, sloMs: config.sloMs, scenarios }, null, 2)}\n`,
)
console.log(`written to ${config.out}/frontier.json and ${config.out}/frontier-*.svg`)
