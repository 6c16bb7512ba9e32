/**
 * nginx and HAProxy as the benchmark's reference reverse proxies, started on 127.0.0.1 with generated configs
 * (one worker / one thread each, like the single-threaded gateway). Debian packages: nginx, haproxy.
 * nginx writes its default access-log line per request (to a file in its temporary directory), as the gateway, run with
 * its default logging, writes one to stdout; HAProxy logs nothing (its logs need a syslog target).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RunningProxy {
  url: string
  stop(): Promise<void>
  /** The one process doing the proxying, when there is one (not nginx: its worker is a grandchild). */
  pid?: number
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

const hostPort = (url: string) => new URL(url).host

export async function startNginx(upstreams: string[], balance: 'least_conn' | 'round-robin'): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'))
  const port = await freePort()
  writeFileSync(
    join(dir, 'nginx.conf'),
    `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_max_body_size 20m;
  client_body_buffer_size 1m;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream pool {
    ${balance === 'least_conn' ? 'least_conn;' : ''}
    ${upstreams.map((u) => `server ${hostPort(u)};`).join('\n    ')}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  )
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  return ready(child, `http://127.0.0.1:${port}`)
}

export async function startHaproxy(upstreams: string[], maxconnPerServer?: number): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'))
  const port = await freePort()
  const limit = maxconnPerServer ? ` maxconn ${maxconnPerServer}` : ''
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  maxconn 8192
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout queue 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance leastconn
  http-reuse always
${upstreams.map((u, i) => `  server s${i} ${hostPort(u)}${limit}`).join('\n')}
`,
  )
  const child = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' })
  return { ...(await ready(child, `http://127.0.0.1:${port}`)), pid: child.pid }
}

/** Resolves once the proxy accepts connections (polled: nginx and HAProxy do not announce it). */
async function ready(child: ChildProcess, url: string): Promise<RunningProxy> {
  const { port } = new URL(url)
  for (let attempt = 0; attempt < 100; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}
