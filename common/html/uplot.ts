import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * uPlot's script and stylesheet, read from the npm package, for reports that must open offline as a single file
 * (the load tester's and the simulator's).
 */
export const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')
export const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')

/** Embeds JSON in a <script> safely: no "</script>" or "<!--" in the data can close or comment it out. */
export const embedJson = (value: unknown) => JSON.stringify(value).replaceAll('<', '\\u003c')

export const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
