/** `npm run docs:settings` — writes docs/settings.md from the config specs (see settings-reference.ts). */
import { writeFileSync } from 'node:fs'
import { configFromCommandLine } from '../../common/command-line.ts'
import { SETTINGS_PAGE, settingsReference } from './settings-reference.ts'

configFromCommandLine(
  'docs:settings',
  {},
  undefined,
  'Writes docs/settings.md, the settings reference, from the config specs of every command.',
)
writeFileSync(SETTINGS_PAGE, await settingsReference())
console.log(`written to ${SETTINGS_PAGE}`)
