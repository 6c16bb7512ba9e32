import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * uPlot's script and stylesheet, read from the npm package, for reports that must open offline as a single file
 * (the load tester's, the simulator's and the experiment's).
 */
export const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')
export const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')

/** Embeds JSON in a <script> safely: no "</script>" or "<!--" in the data can close or comment it out. */
export const embedJson = (value: unknown) => JSON.stringify(value).replaceAll('<', '\\u003c')

export const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

/**
 * The page the simulator's and the experiment's reports share: uPlot inlined, their common style, a title; `body`
 * comes after the heading, `script` runs once uPlot is loaded.
 */
export function chartPage(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${UPLOT_CSS}
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 1100px; color: #222 }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto } h2 { margin-top: 2rem }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
<script>${UPLOT_JS}</script>
<script>${script}</script>
</body></html>
`
}
