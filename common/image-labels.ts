import { basename } from 'node:path'

const IMAGE_FILE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i
const SYNSET_NAME = /^n\d{8}_(.+)\.[a-z]+$/i

/** The label a file name carries, in the form models answer ("great white shark"), or undefined. */
export function truthFromFileName(name: string): string | undefined {
  const match = SYNSET_NAME.exec(basename(name))
  return match ? match[1]!.replaceAll('_', ' ') : undefined
}

/** Two labels name the same class (case and `_` vs space do not matter). */
export function sameLabel(a: string, b: string): boolean {
  const norm = (s: string) => s.replaceAll('_', ' ').trim().toLowerCase()
  return norm(a) === norm(b)
}

/** A file name an image folder may hold (what the load tester sends and a batch dataset evaluates). */
export function isImageFileName(name: string): boolean {
  return IMAGE_FILE.test(name)
}

/**
 * Two models answer in the same classes: the same labels (as `sameLabel` compares them), in any order, since each
 * model names its own output order. What a brownout fallback must have in common with the model it stands in for.
 */
export function sameLabelSet(a: readonly string[], b: readonly string[]): boolean {
  const norm = (s: string) => s.replaceAll('_', ' ').trim().toLowerCase()
  const setA = new Set(a.map(norm))
  const setB = new Set(b.map(norm))
  if (setA.size !== setB.size) return false
  for (const label of setA) if (!setB.has(label)) return false
  return true
}
