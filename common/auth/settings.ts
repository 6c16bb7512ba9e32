import { parse, setting } from '../config.ts'

/** Access-control settings every Switchyard HTTP service has (see common/auth/roles.ts and the README). */
export function authSettings(predictDefault: { predictAuth: boolean; meaning: string }) {
  return {
    tokensFile: setting<string | undefined>({
      env: 'TOKENS_FILE',
      flag: 'tokens-file',
      description:
        'Bearer tokens, one "ROLE TOKEN [NAME]" per line (roles: admin, batch, predict); re-read when it changes or on SIGHUP. Without it (or "none") nothing asks for a token',
      parse: (raw) => (raw === 'none' ? undefined : parse.string()(raw)),
      default: undefined,
    }),
    predictAuth: setting({
      env: 'PREDICT_AUTH',
      flag: 'predict-auth',
      description: `Whether predictions need a token (predict role or above) when TOKENS_FILE is set ${predictDefault.meaning}`,
      parse: parse.boolean(),
      default: predictDefault.predictAuth,
    }),
    metricsPort: setting<number | undefined>({
      env: 'METRICS_PORT',
      flag: 'metrics-port',
      description:
        'Serve GET /metrics on this port instead, without a token (keep the port to Prometheus: a NetworkPolicy, a firewall), on HOST ("none": on the main port; 0: any free port)',
      parse: (raw) => (raw === 'none' ? undefined : parse.integer({ min: 0, max: 65535 })(raw)),
      default: undefined,
    }),
  }
}
