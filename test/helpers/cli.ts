/**
 * The real CLI as a subprocess, for the robustness suite: start it (optionally on a pseudo-terminal through
 * test/terminal.py), wait for a line of its output, send it a signal, and collect its exit code and output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_DIR } from '../../lib/build.js';

export const CLI = join(PROJECT_DIR, 'dist', 'lib', 'cli.js');
/** The launcher npm runs (builds what changed, then loads the CLI). */
export const LAUNCHER = join(PROJECT_DIR, 'bin', 'dcos-cfn.mjs');
const PTY = join(PROJECT_DIR, 'test', 'terminal.py');

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr as they came. */
  readonly output: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Resolves once the output contains `pattern`. */
  waitForOutput(pattern: RegExp): Promise<void>;
  readonly done: Promise<CliResult>;
}

export interface CliOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Run on a pseudo-terminal: when the output shows `trigger`, type `reply` ('wait': type what is written to stdin later). */
  readonly pty?: { readonly trigger: string; readonly reply: string };
  /** Kill it (SIGKILL) after this long; a hang is a failure. @default 60000 */
  readonly timeoutMs?: number;
  /** Start it through bin/dcos-cfn.mjs, as npm does, instead of dist/lib/cli.js. @default false */
  readonly launcher?: boolean;
}

/** Credentials and settings for the emulator, nothing from the developer's own AWS setup. */
export function emulatorEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '2',
    ...extra,
  };
}

export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const entry = options.launcher ? LAUNCHER : CLI;
  const command = options.pty ? ['python3', PTY, options.pty.trigger, options.pty.reply, '--', process.execPath, entry, ...args] : [process.execPath, entry, ...args];
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd ?? PROJECT_DIR, env: options.env ?? emulatorEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const seen = (chunk: Buffer, into: 'out' | 'err') => {
    const text = chunk.toString();
    if (into === 'out') stdout += text;
    else stderr += text;
    output += text;
    for (const w of watchers.filter((w) => w.pattern.test(output))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.on('data', (c: Buffer) => seen(c, 'out'));
  child.stderr!.on('data', (c: Buffer) => seen(c, 'err'));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, output });
    });
  });
  return {
    child,
    done,
    waitForOutput: (pattern) => (pattern.test(output) ? Promise.resolve() : new Promise((resolve) => watchers.push({ pattern, resolve }))),
  };
}

export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A Node stack frame (`    at fn (file.js:1:2)`): never in what a user sees. */
const STACK_FRAME = /^\s+at (?:.+ \()?(?:file:|node:|\/)\S*:\d+(?::\d+)?\)?$/m;

/** Asserts the exit code, a message pattern, and that no stack trace was printed. */
export function expectRun(run: CliResult, status: number, pattern: RegExp): void {
  assert.doesNotMatch(run.output, STACK_FRAME, `stack trace in:\n${run.output}`);
  assert.doesNotMatch(run.output, /unexpected \w*Error/, `an unexpected error:\n${run.output}`);
  assert.match(run.output, pattern, `output:\n${run.output}`);
  assert.equal(run.status, status, `exit code ${run.status} (signal ${run.signal}), expected ${status}; output:\n${run.output}`);
}

/**
 * The processes (PID and command name) whose environment holds `NAME=value`: a CLI run started with a unique value
 * and everything it started, wherever they were reparented. Zombies (which have no environment left) are found
 * by PID: pass the PIDs seen before, and those still in the process table come back too.
 */
export function processesMarked(name: string, value: string, seen: readonly number[] = []): { readonly pid: number; readonly command: string }[] {
  const found: { pid: number; command: string }[] = [];
  const entry = `${name}=${value}`;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)) {
    try {
      const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (seen.includes(pid) || readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry)) found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
