/**
 * A Kubernetes CPU quantity ("1", "0.5", "500m", "1.5k"…) in millicores, for comparing a pod's resources with what
 * they should be; undefined when it is not a CPU quantity. Pure.
 */
export function cpuMillicores(quantity: unknown): number | undefined {
  if (typeof quantity === 'number')
    return Number.isFinite(quantity) && quantity >= 0 ? Math.round(quantity * 1000) : undefined
  if (typeof quantity !== 'string') return undefined
  const match = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m|k|M|G)?$/.exec(quantity.trim())
  if (!match) return undefined
  const value = Number(match[1])
  const scale = { m: 1, '': 1000, k: 1e6, M: 1e9, G: 1e12 }[match[2] ?? '']!
  return Math.round(value * scale)
}
