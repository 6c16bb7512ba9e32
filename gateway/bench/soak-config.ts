/** The settings of `npm run soak` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const soakSpec = {
  minutes: setting({
    env: 'SOAK_MINUTES',
    flag: 'minutes',
    description: 'How long the steady load lasts, in minutes',
    parse: parse.integer({ min: 1, max: 7 * 24 * 60 }),
    default: 5,
  }),
  rate: setting({
    env: 'SOAK_RATE',
    flag: 'rate',
    description: 'Requests per second (Poisson arrivals)',
    parse: parse.integer({ min: 1, max: 10_000 }),
    default: 20,
  }),
  maxGrowth: setting({
    env: 'SOAK_MAX_GROWTH',
    flag: 'max-growth',
    description: 'Largest memory growth after warm-up that passes, as a fraction (0.10 = 10 %)',
    parse: parse.number({ min: 0.001, max: 10 }),
    default: 0.1,
  }),
}
