/**
 * A small, seeded pseudo-random generator (mulberry32). Switchyard uses it wherever a result must be
 * reproducible from a seed: untrained model weights, Poisson arrival times, workload shapes, simulations.
 * It is not cryptographic.
 */
export type Random = () => number

export function createRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
