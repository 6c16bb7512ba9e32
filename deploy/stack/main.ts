import { configFromCommandLine } from '../../common/command-line.ts'
import { stackSpec } from './config.ts'
import { startStack } from './stack.ts'

const config = configFromCommandLine('stack', stackSpec)

const stack = await startStack({ ...config, onLog: (line) => process.stdout.write(`${line}\n`) }).catch(
  (error: Error) => {
    console.error(`${error.message}\n(Prometheus comes from Debian: apt-get install prometheus)`)
    process.exit(1)
  },
)
console.error(`gateway: ${stack.gatewayUrl}\nprometheus: ${stack.prometheusUrl}\nCtrl-C stops the stack`)
process.once('SIGINT', () => void stack.stop().then(() => process.exit(0)))
process.once('SIGTERM', () => void stack.stop().then(() => process.exit(0)))
