import { escapeHtml } from '../../common/html/uplot.ts'
import { ATTAINMENT_TARGET_MISS, type FrontierPoint } from './frontier.ts'

const COLOURS: Record<FrontierPoint['family'], string> = {
  custom: '#d62728',
  hpa: '#1f77b4',
  keda: '#ff7f0e',
  'keda-queue': '#2ca02c',
  fixed: '#7f7f7f',
  clairvoyant: '#000000',
}
const UNITS: Record<FrontierPoint['family'], string> = {
  custom: 'wait tail 10^−k',
  hpa: 'CPU target %',
  keda: 'threshold',
  'keda-queue': 'per replica',
  fixed: 'replicas',
  clairvoyant: 'utilisation %',
}

/** Misses below this share (%) are drawn on it: attainment is drawn on a log scale of the misses, which has no zero. */
const FLOOR_PERCENT = 0.01

/** An attainment label: 100 % − the misses, with the decimals the misses need (0.5 → 99.5 %, 0.01 → 99.99 %). */
export const attainmentLabel = (missPercent: number) =>
  `${(100 - missPercent).toFixed(Math.max(0, Math.ceil(-Math.log10(missPercent) - 1e-9)))} %`

/**
 * The cost–attainment plane as a standalone SVG (for the docs): core-seconds requested across, SLO attainment up
 * (answered 200 within the SLO; drawn on a log scale of the misses, so 99 %, 99.9 % and 99.99 % are equally far
 * apart), one line per family through its knob's values, the shipped defaults ringed, the 99.5 % target dashed.
 * Pure: points in, text out.
 */
export function frontierSvg(points: readonly FrontierPoint[], title: string): string {
  const width = 760
  const height = 440
  const left = 70
  const right = 190
  const top = 40
  const bottom = 50
  const costs = points.map((p) => p.requestedCoreSeconds.mean)
  const lo = Math.min(...costs)
  const hi = Math.max(...costs)
  const pad = (hi - lo) * 0.05 || 1
  const x0 = lo - pad
  const x1 = hi + pad
  const yTop = 2 // log10(100 %)
  const yBottom = Math.log10(FLOOR_PERCENT)
  const x = (cost: number) => left + ((cost - x0) / (x1 - x0)) * (width - left - right)
  const y = (share: number) =>
    top + ((yTop - Math.log10(Math.max(FLOOR_PERCENT, share * 100))) / (yTop - yBottom)) * (height - top - bottom)
  const parts: string[] = []
  for (let decade = yBottom; decade <= yTop; decade++) {
    const at = y(10 ** decade / 100)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${at}" y2="${at}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${at + 4}" text-anchor="end">${decade === yBottom ? '≥ ' : ''}${attainmentLabel(10 ** decade)}</text>`,
    )
  }
  const target = y(ATTAINMENT_TARGET_MISS)
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${target}" y2="${target}" stroke="#d62728" stroke-dasharray="4 3" opacity="0.6"/>`,
    `<text x="${width - right - 4}" y="${target - 4}" text-anchor="end" font-size="9" fill="#d62728">target ${attainmentLabel(ATTAINMENT_TARGET_MISS * 100)}</text>`,
  )
  for (let i = 0; i <= 4; i++) {
    const cost = x0 + ((x1 - x0) * i) / 4
    parts.push(`<text x="${x(cost)}" y="${height - bottom + 18}" text-anchor="middle">${Math.round(cost)}</text>`)
  }
  const families = [...new Set(points.map((p) => p.family))]
  for (const [i, family] of families.entries()) {
    const own = points.filter((p) => p.family === family).sort((a, b) => a.knob - b.knob)
    const colour = COLOURS[family]
    const path = own
      .map((p) => `${x(p.requestedCoreSeconds.mean).toFixed(1)},${y(p.slowShare.mean).toFixed(1)}`)
      .join(' ')
    parts.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="1.5" opacity="0.7"/>`)
    for (const p of own) {
      const cx = x(p.requestedCoreSeconds.mean).toFixed(1)
      const cy = y(p.slowShare.mean).toFixed(1)
      parts.push(
        `<circle cx="${cx}" cy="${cy}" r="${p.isDefault ? 5 : 3}" fill="${colour}"${p.isDefault ? ' stroke="#fff" stroke-width="1.5"' : ''}><title>${escapeHtml(`${family} ${p.knob} ${UNITS[family]}: attainment ${(100 - p.slowShare.mean * 100).toFixed(2)} % [${(100 - p.slowShare.max * 100).toFixed(2)}–${(100 - p.slowShare.min * 100).toFixed(2)}], ${p.requestedCoreSeconds.mean.toFixed(0)} requested / ${p.nodeCoreSeconds.mean.toFixed(0)} node-free core-s`)}</title></circle>`,
        `<text x="${Number(cx) + 6}" y="${Number(cy) - 4}" font-size="9" fill="${colour}">${p.knob}</text>`,
      )
    }
    const ly = top + 10 + i * 20
    parts.push(
      `<circle cx="${width - right + 20}" cy="${ly}" r="4" fill="${colour}"/>`,
      `<text x="${width - right + 30}" y="${ly + 4}">${family} (${UNITS[family]})</text>`,
    )
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img">
<title>${escapeHtml(title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="22" font-size="14">${escapeHtml(title)}</text>
${parts.join('\n')}
<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle">core-seconds requested (mean over seeds; larger ring: the shipped default)</text>
<text transform="translate(16 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">SLO attainment (log scale of the misses)</text>
</svg>
`
}
