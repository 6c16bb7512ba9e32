import type { FastifyBaseLogger } from 'fastify'
import type { TokenSet } from '../../common/auth/token-set.ts'
import { openSecretFile, openTokenStore } from '../../common/auth/token-store.ts'
import type { WatchedFile } from '../../common/auth/watched-file.ts'
import { type ConfigOf, parse, setting } from '../../common/config.ts'

/** The tokens this gateway presents to others (its own TOKENS_FILE is in common/auth/settings.ts). */
export const credentialSettings = {
  peerTokenFile: setting<string | undefined>({
    env: 'PEER_TOKEN_FILE',
    flag: 'peer-token-file',
    description:
      "A file holding the token this gateway presents to its peers' GET /autoscale (an admin token of their TOKENS_FILE); re-read when it changes",
    parse: parse.string(),
    default: undefined,
  }),
  replicaTokenFile: setting<string | undefined>({
    env: 'REPLICA_TOKEN_FILE',
    flag: 'replica-token-file',
    description:
      "A file holding the token this gateway presents to replicas (one of the replicas' TOKENS_FILE, role predict or above); re-read when it changes",
    parse: parse.string(),
    default: undefined,
  }),
}

/** Every credential file the gateway reads, each watched for changes. */
export interface GatewayCredentials {
  /** The tokens file (TOKENS_FILE); undefined without one. */
  tokens: WatchedFile<TokenSet> | undefined
  /** What this gateway presents to its peers' GET /autoscale (PEER_TOKEN_FILE). */
  peerToken: WatchedFile<string> | undefined
  /** What this gateway presents to replicas (REPLICA_TOKEN_FILE). */
  replicaToken: WatchedFile<string> | undefined
  /** Re-read every file now (SIGHUP). */
  refresh(): Promise<void>
  close(): void
}

/** Opens the credential files; one that cannot be read throws, so a gateway without its tokens never starts. */
export function openCredentials(
  config: ConfigOf<typeof credentialSettings> & { tokensFile: string | undefined },
  logger: FastifyBaseLogger,
): GatewayCredentials {
  const tokens = config.tokensFile ? openTokenStore(config.tokensFile, logger) : undefined
  const peerToken = config.peerTokenFile ? openSecretFile('PEER_TOKEN_FILE', config.peerTokenFile, logger) : undefined
  const replicaToken = config.replicaTokenFile
    ? openSecretFile('REPLICA_TOKEN_FILE', config.replicaTokenFile, logger)
    : undefined
  tokens?.on('reloaded', (set) => logger.info({ tokens: set.size }, 'tokens file re-read'))
  const files = [tokens, peerToken, replicaToken]
  return {
    tokens,
    peerToken,
    replicaToken,
    refresh: async () => {
      await Promise.all(files.map((file) => file?.refresh()))
    },
    close: () => {
      for (const file of files) file?.close()
    },
  }
}
