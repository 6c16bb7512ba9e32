import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

const require = createRequire(import.meta.url)
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url))
// uPlot's files as the npm package ships them: no CDN, works offline.
const UPLOT_DIR = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))

/** The web page at `/` (plain HTML, CSS and JS, no build step) and the chart library it uses under `/vendor/uplot/`. */
export async function registerWebPage(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: ['index.html'], schemaHide: true })
  await app.register(fastifyStatic, {
    root: UPLOT_DIR,
    prefix: '/vendor/uplot/',
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
    schemaHide: true,
  })
}
