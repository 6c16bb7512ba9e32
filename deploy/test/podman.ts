/**
 * What the container test needs from podman on this machine: run its CLI with a time limit, find the base images
 * (local stand-ins from ../shared/containers/base-images.sh where no registry is reachable, else the upstream ones),
 * inspect images and containers, and run the health checks that podman without systemd never schedules by itself.
 */
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

export const hasCommand = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0

/** Runs a command; rejects with its stderr when it fails or outlives `timeoutMs` (then it is killed). */
export async function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<string> {
  try {
    const { stdout } = await exec(command, args, {
      env: options.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    })
    return stdout
  } catch (error) {
    const { stderr, killed } = error as { stderr?: string; killed?: boolean }
    const why = killed ? `killed after ${options.timeoutMs ?? 60_000} ms` : (stderr ?? '').trim().slice(-2000)
    throw new Error(`${command} ${args.join(' ')}: ${why || (error as Error).message}`)
  }
}

export const podman = (args: readonly string[], timeoutMs?: number) => run('podman', args, { timeoutMs })

export function imageExists(name: string): boolean {
  return spawnSync('podman', ['image', 'exists', name]).status === 0
}

/** The first image of `candidates` that this machine has, if any (podman would try to pull the others). */
export function firstLocalImage(candidates: readonly string[]): string | undefined {
  return candidates.find(imageExists)
}

/** Uncompressed size in bytes, as `podman images` reports it (layers included). */
export async function imageSize(name: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', name])).trim())
}

// biome-ignore lint/suspicious/noExplicitAny: podman's inspect output is a large JSON document
export async function inspect(kind: 'image' | 'container', name: string): Promise<any> {
  return JSON.parse(await podman([kind, 'inspect', name]))[0]
}

export async function containersOf(project: string, format = '{{.Names}}'): Promise<string[]> {
  const out = await podman([
    'ps',
    '--all',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    format,
  ])
  return out.split('\n').filter(Boolean).sort()
}

/**
 * Runs the health checks of `project`'s containers every 2 s until stopped: podman schedules health checks with
 * systemd timers, and without systemd compose's `condition: service_healthy` would wait forever.
 */
export function runHealthChecks(project: string): { stop(): Promise<void> } {
  let running = true
  const loop = (async () => {
    while (running) {
      const started = Date.now()
      // Once healthy, a container is left alone: each check starts a Node process, CPU the starting replicas need.
      const names = (await containersOf(project, '{{.Names}} {{.Status}}').catch(() => []))
        .filter((line) => !line.includes('(healthy)'))
        .map((line) => line.split(' ')[0]!)
      await Promise.all(names.map((name) => podman(['healthcheck', 'run', name], 10_000).catch(() => undefined)))
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 - (Date.now() - started))))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
    },
  }
}
