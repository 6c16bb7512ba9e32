/**
 * docker-compose.yml run as users run it, through podman's Docker API: a `podman system service` of our own on a
 * socket in a temporary folder, docker-compose talking to it, and a project name of our own so that nothing else on
 * the machine (other checkouts running the same test) is touched. `remove()` takes everything down, even after a
 * failure half-way.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { containersOf, podman, run } from './podman.ts'

export interface ComposeProjectOptions {
  composeFile: string
  /** Compose's variables: SWITCHYARD_IMAGE, PROMETHEUS_IMAGE, GATEWAY_PORT, … */
  variables: Record<string, string>
}

export class ComposeProject {
  readonly name = `switchyard-test-${process.pid}`
  readonly #options: ComposeProjectOptions
  readonly #dir: string
  readonly #service: ChildProcess

  private constructor(options: ComposeProjectOptions, dir: string, service: ChildProcess) {
    this.#options = options
    this.#dir = dir
    this.#service = service
  }

  /**
   * Containers, networks and image tags of earlier runs whose test process is gone (killed before its clean-up ran).
   * Projects of live processes — another checkout running this test at the same time — are left alone.
   */
  static async removeAbandoned(): Promise<void> {
    const abandoned = (name: string) => {
      const pid = Number(/switchyard[-:]test-(\d+)/.exec(name)?.[1])
      if (!Number.isInteger(pid) || pid === process.pid) return false
      try {
        process.kill(pid, 0)
        return false
      } catch {
        return true
      }
    }
    const list = async (args: string[]) => (await podman(args)).split('\n').filter((n) => n && abandoned(n))
    const containers = await list(['ps', '--all', '--filter', 'name=^switchyard-test-', '--format', '{{.Names}}'])
    if (containers.length > 0) await podman(['rm', '--force', '--time', '0', ...containers])
    const networks = await list(['network', 'ls', '--format', '{{.Name}}'])
    if (networks.length > 0) await podman(['network', 'rm', '--force', ...networks])
    const images = await list(['images', '--format', '{{.Repository}}:{{.Tag}}', 'localhost/switchyard'])
    if (images.length > 0) await podman(['rmi', '--force', ...images])
  }

  static async start(options: ComposeProjectOptions): Promise<ComposeProject> {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-podman-'))
    const socket = join(dir, 'podman.sock')
    const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore' })
    const project = new ComposeProject(options, dir, service)
    const deadline = Date.now() + 15_000
    // The service creates its socket when it is ready to answer: poll for it (nothing to wait on otherwise).
    while (!existsSync(socket)) {
      if (service.exitCode !== null || Date.now() > deadline) {
        await project.remove()
        throw new Error(`podman system service did not start (exit ${service.exitCode})`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return project
  }

  /** docker-compose with this project's name, file and variables. */
  compose(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    return run('docker-compose', ['-p', this.name, '-f', this.#options.composeFile, ...args], {
      env: { ...process.env, ...this.#options.variables, DOCKER_HOST: `unix://${join(this.#dir, 'podman.sock')}` },
      timeoutMs,
    })
  }

  /** Container name of a service's n-th container (docker-compose 1.x naming). */
  container(service: string, index = 1): string {
    return `${this.name}_${service}_${index}`
  }

  containers(): Promise<string[]> {
    return containersOf(this.name)
  }

  /** `docker-compose down`, then whatever it left (containers, the network), then the API service. */
  async remove(): Promise<void> {
    if (this.#service.exitCode === null) {
      await this.compose(['down', '--volumes', '--timeout', '5'], 60_000).catch(() => undefined)
      const left = await this.containers().catch(() => [])
      if (left.length > 0) await podman(['rm', '--force', '--time', '0', ...left]).catch(() => undefined)
      await podman(['network', 'rm', '--force', `${this.name}_default`]).catch(() => undefined)
      const exited = once(this.#service, 'exit')
      this.#service.kill('SIGTERM')
      await exited
    }
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
