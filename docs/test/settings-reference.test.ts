/** docs/settings.md is generated from the config specs; a committed page that differs from them is stale. */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { setting } from '../../common/config.ts'
import { COMMANDS } from '../tools/commands.ts'
import { renderSettingsReference, SETTINGS_PAGE, settingsReference } from '../tools/settings-reference.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const scripts = Object.keys(
  (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts,
)

test('docs/settings.md is what npm run docs:settings writes from the specs today', async () => {
  const committed = readFileSync(SETTINGS_PAGE, 'utf8')
  const current = await settingsReference()
  assert.ok(committed === current, 'docs/settings.md is stale: run `npm run docs:settings` and commit the page')
})

test('every command of package.json that runs our code has its settings in the reference', () => {
  const covered = new Set(COMMANDS.flatMap((c) => c.scripts))
  const ours = scripts.filter((name) => /^node\s+[\w./-]+\.ts/.test(readScript(name)))
  assert.deepEqual(
    ours.filter((name) => !covered.has(name)),
    [],
    'add the command to docs/tools/commands.ts',
  )
  assert.deepEqual(
    [...covered].filter((name) => !scripts.includes(name)),
    [],
    'a command in docs/tools/commands.ts that package.json no longer has',
  )
})

test('the page is the same on any machine: no checkout path, core count or host name of the one that wrote it', async () => {
  const page = await settingsReference()
  assert.doesNotMatch(page, new RegExp(ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  assert.ok(!page.includes(`\`${hostname()}\``), 'the host name is shown as <hostname>')
  assert.match(page, /`--local-replicas` \| `LOCAL_REPLICAS` \| `<cores>` \|/)
})

test('a setting is one row: flag, variable, default as help shows it, meaning; a | in a meaning is escaped', () => {
  const page = renderSettingsReference(
    [{ scripts: ['demo'] }, { scripts: ['other'] }],
    [
      {
        spec: {
          sizes: setting({ env: 'D_SIZES', flag: 'sizes', description: 'a|b', parse: (r) => [r], default: ['1', '2'] }),
          unset: setting<string | undefined>({
            env: 'D_UNSET',
            flag: 'unset',
            description: 'none',
            parse: (r) => r,
            default: undefined,
          }),
        },
        summary: 'What demo does.',
      },
      { spec: {} },
    ],
  )
  assert.match(page, /^## `npm run demo`$/m)
  assert.match(page, /^> What demo does\.$/m)
  assert.match(page, /^\| `--sizes` \| `D_SIZES` \| `1,2` \| a\\\|b \|$/m)
  assert.match(page, /^\| `--unset` \| `D_UNSET` \| {2}\| none \|$/m)
  assert.match(page, /^`npm run other`\.$/m)
})

function readScript(name: string): string {
  return (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts[name]!
}
