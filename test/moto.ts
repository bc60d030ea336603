/**
 * A moto_server (patched by test/moto-server.py) on a free loopback port, for the end-to-end deploy
 * tests: started before, stopped by its PID after. Tests skip when moto is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const LAUNCHER = fileURLToPath(new URL('../../test/moto-server.py', import.meta.url));

export interface Moto {
  readonly endpoint: string;
  readonly process: ChildProcess;
}

export function motoAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the server and waits (bounded) until it answers. `env` adds to its environment (the launcher's
 * DCOS_CFN_MOTO_FAIL_CREATE, moto's own switches).
 */
export async function startMoto(env: NodeJS.ProcessEnv = {}): Promise<Moto> {
  const port = await freePort();
  const child = spawn('python3', [LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return { endpoint, process: child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`);
}

export async function stopMoto(moto: Moto | undefined): Promise<void> {
  if (!moto || moto.process.exitCode !== null || moto.process.pid === undefined) return;
  const exited = new Promise((resolve) => moto.process.once('exit', resolve));
  process.kill(moto.process.pid, 'SIGTERM');
  await exited;
}

/** Credentials moto accepts; the metadata service is never probed. */
export function motoEnv(): void {
  process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  process.env['AWS_ACCESS_KEY_ID'] = 'testing';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
  process.env['AWS_REGION'] = 'us-east-1';
  delete process.env['AWS_PROFILE'];
  delete process.env['AWS_SESSION_TOKEN'];
}

/**
 * For a suite's `before` hook: sets moto's credentials and starts a server, or skips the suite with a
 * visible notice when moto is not installed.
 */
export async function startMotoOrSkip(context: Mocha.Context): Promise<Moto> {
  if (!motoAvailable()) {
    console.log('    NOTICE: moto is not installed; skipping the emulator tests');
    context.skip();
  }
  motoEnv();
  return startMoto();
}
