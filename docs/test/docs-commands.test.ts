/**
 * The docs stay true without running anything: every `npm run X` they show (in code: fenced blocks and `inline`)
 * names a script of package.json, every `--flag` after its `--` is one that command accepts (from its spec), and
 * every relative link between pages reaches a file and, with #anchor, a heading there.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { commandOf, flagsOf } from '../tools/commands.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts

/** npm's own commands the docs may show besides `npm run`. */
const NPM_SHORTHANDS: Record<string, string> = { 'npm start': 'start', 'npm test': 'test' }

/** The code of a page: fenced blocks line by line, and each inline code span (which may wrap within its paragraph). */
export function codeOf(markdown: string): string[] {
  const code: string[] = []
  let fenced = false
  let paragraph: string[] = []
  const endParagraph = () => {
    for (const match of paragraph.join(' ').matchAll(/`([^`]+)`/g)) code.push(match[1]!)
    paragraph = []
  }
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      endParagraph()
      fenced = !fenced
    } else if (fenced) code.push(line)
    else if (line.trim() === '' || line.startsWith('|')) {
      endParagraph()
      paragraph.push(line)
      endParagraph()
    } else paragraph.push(line)
  }
  endParagraph()
  return code
}

export interface Invocation {
  script: string
  flags: string[]
  /** Flags written straight after the script name, which npm would take as its own instead of passing them on. */
  withoutSeparator?: true
}

/** Each npm command in a piece of code, with the flags given to it after `--` (up to a comment or the next command). */
export function invocationsIn(code: string): Invocation[] {
  const found: Invocation[] = []
  // A name followed by * or … stands for a family of scripts (`npm run bench:*`), not one of them.
  const pattern = /\bnpm (?:run ([\w:.-]+)(?![\w:.*…-])|(start|test)\b)([^#;&|)]*)/g
  for (const match of code.matchAll(pattern)) {
    const script = match[1] ?? NPM_SHORTHANDS[`npm ${match[2]}`]!
    const rest = match[3]!.trim()
    const args = rest.startsWith('--') && /^--(\s|$)/.test(rest) ? rest.slice(2).trim().split(/\s+/) : []
    const flags = args.filter((a) => /^--[a-z]/.test(a)).map((a) => a.slice(2).split('=')[0]!)
    found.push(/^--[a-z]/.test(rest) ? { script, flags, withoutSeparator: true } : { script, flags })
  }
  return found
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2… */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (!heading) continue
    const slug = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return anchors
}

describe('every command the docs show exists and takes the flags shown', () => {
  for (const page of PAGES) {
    test(page, async () => {
      const invocations = codeOf(readFileSync(join(ROOT, page), 'utf8')).flatMap(invocationsIn)
      const problems: string[] = []
      for (const { script, flags, withoutSeparator } of invocations) {
        if (withoutSeparator) problems.push(`npm run ${script} --…: npm keeps flags that come before \`--\``)
        if (!(script in scripts)) {
          problems.push(`npm run ${script}: no such script in package.json`)
          continue
        }
        const command = commandOf(script)
        if (!command) {
          if (flags.length > 0) problems.push(`npm run ${script} -- ${flags.map((f) => `--${f}`)}: not our command`)
          continue
        }
        const accepted = await flagsOf(command)
        for (const flag of flags) {
          if (!accepted.has(flag)) problems.push(`npm run ${script} -- --${flag}: ${script} has no such flag`)
        }
      }
      assert.deepEqual(problems, [])
    })
  }
})

describe('relative links between pages reach a file, and a heading when they name one', () => {
  for (const page of PAGES) {
    test(page, () => {
      const text = readFileSync(join(ROOT, page), 'utf8')
      const problems: string[] = []
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path))
        if (!existsSync(file)) {
          problems.push(`${target}: ${relative(ROOT, file)} does not exist`)
          continue
        }
        if (anchor && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
          problems.push(`${target}: no heading #${anchor} in ${relative(ROOT, file)}`)
        }
      }
      assert.deepEqual(problems, [])
    })
  }
})

test('the checks themselves: commands, flags and anchors are read as GitHub and npm read them', () => {
  assert.deepEqual(invocationsIn('npm run load -- --target http://x --scale=0.5 # --not-this'), [
    { script: 'load', flags: ['target', 'scale'] },
  ])
  assert.deepEqual(invocationsIn('npm install && npm start     # the gateway'), [{ script: 'start', flags: [] }])
  assert.deepEqual(invocationsIn('every `npm run bench:*` and npm run bench…'), [])
  assert.deepEqual(invocationsIn('FOO=1 npm run simulate --scales 1'), [
    { script: 'simulate', flags: [], withoutSeparator: true },
  ])
  assert.deepEqual(codeOf('a `npm test` b\n```sh\nnpm run x -- --y\n```\n'), ['npm test', 'npm run x -- --y'])
  assert.deepEqual(codeOf('see `npm run load --\n--scale 2` here\n\n`a`'), ['npm run load -- --scale 2', 'a'])
  assert.deepEqual(
    [...anchorsOf('# Gateway benchmark (`npm run bench:gateway`)\n## A, b\n## A, b\n```\n# not a heading\n```')],
    ['gateway-benchmark-npm-run-benchgateway', 'a-b', 'a-b-1'],
  )
})
