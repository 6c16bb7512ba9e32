/** `npm run workloads`: regenerates every file in workload/ (deterministic: the output is committed). */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine } from '../../common/command-line.ts'
import { allWorkloads, formatWorkload } from './workload-shapes.ts'

configFromCommandLine(
  'workloads',
  {},
  undefined,
  'Regenerates every file in workload/ (seeded, so the output is the committed files).',
)

for (const shape of allWorkloads()) {
  const path = fileURLToPath(new URL(`../../workload/${shape.file}`, import.meta.url))
  writeFileSync(path, formatWorkload(shape))
  console.log(`${shape.file}: ${shape.values.length} s, ${shape.values.reduce((a, b) => a + b, 0)} requests`)
}
