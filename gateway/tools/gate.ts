/**
 * `npm run gate -- --model NAME --candidate V2 --baseline V1 [--dataset imagenet-sample]`: the regression gate. Both
 * versions are evaluated through a running gateway's batch jobs; a PASS/FAIL table per rule is printed, the verdict is
 * recorded in the registry state (so `npm run models -- promote` refuses a failed candidate), and the exit code is
 * 0 (pass) or 1 (fail, or the evaluation could not be made).
 */
import { readFileSync } from 'node:fs'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, MissingDataError, parseConfig } from '../../common/config.ts'
import { BatchClientError } from '../src/batch/batch-client.ts'
import { GateError, gateTable, runGate } from '../src/gate/run-gate.ts'
import { gateSpec, gateSummary } from './gate-config.ts'

function readGateConfig(source: ConfigSource) {
  const config = parseConfig(gateSpec, source)
  for (const key of ['model', 'candidate', 'baseline'] as const) {
    if (config[key] === undefined) throw new ConfigError(key, `--${key} is required`)
  }
  if (config.candidate === config.baseline)
    throw new ConfigError('candidate', 'the candidate and the baseline are the same version')
  return { ...config, model: config.model!, candidate: config.candidate!, baseline: config.baseline! }
}

const config = configFromCommandLine('gate', gateSpec, readGateConfig, gateSummary)

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (error) {
    throw new MissingDataError(`GATE_TOKEN_FILE ${file}: ${(error as Error).message}`)
  }
}

const progress = new Map<string, number>()
try {
  const outcome = await runGate({
    gatewayUrl: config.gateway.replace(/\/$/, ''),
    model: config.model,
    baseline: config.baseline,
    candidate: config.candidate,
    dataset: config.dataset,
    limit: config.limit,
    thresholds: { maxAccuracyDrop: config.maxAccuracyDrop, maxP95Increase: config.maxP95Increase },
    reuse: config.reuse,
    registryFile: config.modelRegistryFile,
    token: config.tokenFile === undefined ? undefined : dataOrExit(() => readToken(config.tokenFile!)),
    onProgress: (version, job) => {
      const percent = Math.floor(job.progress.fraction * 10) * 10
      if (percent === progress.get(version)) return
      progress.set(version, percent)
      console.error(`${config.model}@${version}: ${job.status} ${job.progress.done}/${job.progress.total}`)
    },
  })
  console.log(gateTable(outcome, { baseline: config.baseline, candidate: config.candidate }))
  console.log(
    `\n${config.model} ${config.candidate}: ${outcome.pass ? 'PASS' : 'FAIL'} (recorded in ${config.modelRegistryFile})`,
  )
  process.exit(outcome.pass ? 0 : 1)
} catch (error) {
  if (
    error instanceof GateError ||
    error instanceof BatchClientError ||
    (error as { code?: string }).code === 'ECONNREFUSED'
  ) {
    console.error(`gate: ${(error as Error).message}`)
    process.exit(1)
  }
  throw error
}
