import { createRandom, type Random } from '../../common/random.ts'

/**
 * Workload shapes for tuning and judging the custom policy, drawn from a seed: each family has the canonical
 * workload's scale (a quiet rate of 4–10 req/s, busy rates of 20–45 req/s, 600 s) but its own timing. The policy
 * is tuned on TRAINING_FAMILIES only; HELD_OUT_FAMILIES and workload/workload.txt judge it.
 */
export const TRAINING_FAMILIES = ['step', 'ramp', 'flash-crowd', 'on-off', 'diurnal'] as const
export const HELD_OUT_FAMILIES = ['sawtooth', 'double-step'] as const
export type Family = (typeof TRAINING_FAMILIES)[number] | (typeof HELD_OUT_FAMILIES)[number]

const SECONDS = 600
const between = (random: Random, lo: number, hi: number) => lo + random() * (hi - lo)
const seconds = (fn: (s: number) => number) => Array.from({ length: SECONDS }, (_, s) => Math.max(0, Math.round(fn(s))))

/** One workload of `family` (requests per second, 600 s), the same for the same seed. */
export function trainingWorkload(family: Family, seed: number): number[] {
  const random = createRandom((seed * 7919) ^ family.length ^ (family.charCodeAt(0) << 8))
  const quiet = between(random, 4, 10)
  const busy = between(random, 20, 45)
  switch (family) {
    case 'step': {
      const at = between(random, 100, 350)
      const until = between(random, at + 100, SECONDS)
      return seconds((s) => (s >= at && s < until ? busy : quiet))
    }
    case 'ramp': {
      const start = between(random, 50, 200)
      const rise = between(random, 30, 180)
      const hold = between(random, 60, 150)
      return seconds((s) => {
        const t = s - start
        if (t < 0) return quiet
        if (t < rise) return quiet + ((busy - quiet) * t) / rise
        if (t < rise + hold) return busy
        return Math.max(quiet, busy - ((busy - quiet) * (t - rise - hold)) / rise)
      })
    }
    case 'flash-crowd': {
      const at = between(random, 100, 400)
      const peak = busy * between(random, 1, 1.6)
      const decayS = between(random, 15, 60)
      return seconds((s) => (s < at ? quiet : quiet + (peak - quiet) * Math.exp(-(s - at) / decayS)))
    }
    case 'on-off': {
      const on = between(random, 20, 60)
      const off = between(random, 40, 120)
      const phase = between(random, 0, on + off)
      return seconds((s) => ((s + phase) % (on + off) < on ? busy : quiet))
    }
    case 'diurnal': {
      const period = between(random, 300, 600)
      return seconds((s) => quiet + ((busy - quiet) * (1 - Math.cos((2 * Math.PI * s) / period))) / 2)
    }
    case 'sawtooth': {
      const period = between(random, 60, 150)
      return seconds((s) => quiet + ((busy - quiet) * (s % period)) / period)
    }
    case 'double-step': {
      const first = between(random, 60, 200)
      const second = first + between(random, 60, 150)
      const end = second + between(random, 60, 150)
      const middle = (quiet + busy) / 2
      return seconds((s) => (s < first || s >= end ? quiet : s < second ? middle : busy))
    }
  }
}
