import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { openRoutes } from '../../common/auth/access-control.ts'

const require = createRequire(import.meta.url)
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url))
// uPlot's files as the npm package ships them: no CDN, works offline.
const UPLOT_DIR = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))

/**
 * What the page may load: its own scripts and styles only (it has no inline script or style attribute), the upload's
 * preview as a blob: URL, fetches to this gateway; never framed (clickjacking), no plugins, no <base> rewriting.
 */
export const WEB_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The web page at `/` (plain HTML, CSS and JS, no build step) and the chart library it uses under `/vendor/uplot/`:
 * open to all (it holds no data; what it fetches is checked like any request), with a Content-Security-Policy.
 */
export async function registerWebPage(app: FastifyInstance): Promise<void> {
  await app.register(async (page) => {
    openRoutes(page)
    page.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('content-security-policy', WEB_PAGE_CSP)
      reply.header('x-frame-options', 'DENY')
      reply.header('referrer-policy', 'no-referrer')
      done(null, payload)
    })
    await page.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: ['index.html'], schemaHide: true })
    await page.register(fastifyStatic, {
      root: UPLOT_DIR,
      prefix: '/vendor/uplot/',
      decorateReply: false,
      allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
      schemaHide: true,
    })
  })
}
