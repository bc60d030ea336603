/**
 * Ctrl-C (SIGINT) and SIGTERM, for every command. The entry point installs one handler; a command registers
 * what to do if the user stops it now (`onInterrupt`): delete the change set it created, say how to follow an
 * execution it leaves running, remove a staging folder. On the first signal the handlers run, newest first,
 * and the process exits 130. Meanwhile the interrupted work stops at its next AWS call or sleep
 * (`InterruptedError`); only the handlers' own calls go through. A second signal exits at once.
 *
 * Since the process exits once the handlers are done, a `finally` of the interrupted work may never run: whatever
 * must not outlive the command is registered here too. A temporary folder gets a handler that removes it; a child
 * process (cfn-guard, tsgo) gets `stopOnInterrupt`, which stops it and waits for its exit, so none keeps running
 * (or writing) after the command, and none is left unreaped. A signal that comes while the launcher
 * (bin/dcos-cfn.mjs) is still building is kept by the launcher and handed over here.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { UserError } from './errors.js';

/** Exit code of a process stopped by a signal the shell's way (128 + SIGINT). */
export const INTERRUPTED_EXIT = 130;

/**
 * Exit code of a command whose stdout was closed (`... | head -1`), the shell's way for SIGPIPE (128 + 13), as
 * `git log | head -1` or `yes | head -1` end: a pipeline under `set -o pipefail` sees that the output was cut.
 */
const CLOSED_OUTPUT_EXIT = 141;

/** Thrown into interrupted work; the entry point prints nothing for it (the handlers speak). */
export class InterruptedError extends UserError {
  constructor(readonly signal: string) {
    super(`Interrupted (${signal}).`, INTERRUPTED_EXIT);
    this.name = 'InterruptedError';
  }
}

type Handler = () => Promise<void> | void;

const handlers: Handler[] = [];
const wakers = new Set<() => void>();
const cleaning = new AsyncLocalStorage<true>();
let received: string | undefined;
let finished: Promise<void> | undefined;

/**
 * Registers what to do if the user interrupts from now on. Returns the function that unregisters it (call it
 * once the work it would undo is settled: executed, deleted, or deliberately left).
 */
export function onInterrupt(handler: Handler): () => void {
  handlers.push(handler);
  return () => {
    const i = handlers.indexOf(handler);
    if (i >= 0) handlers.splice(i, 1);
  };
}

/** The signal received, if any. */
export function interruptSignal(): string | undefined {
  return received;
}

/** Settles when the handlers of a received signal are done (never, when no signal came). */
export function interruptHandled(): Promise<void> {
  return finished ?? new Promise(() => {});
}

/** True inside an interrupt handler, whose calls must go through. */
export function inInterruptHandler(): boolean {
  return cleaning.getStore() === true;
}

/** Throws InterruptedError once a signal came, except inside a handler. */
export function throwIfInterrupted(): void {
  if (received !== undefined && !inInterruptHandler()) throw new InterruptedError(received);
}

/** Waits `ms` milliseconds; an interrupt ends the wait with InterruptedError (except in a handler). */
export function sleep(ms: number): Promise<void> {
  throwIfInterrupted();
  const handler = inInterruptHandler();
  return new Promise((resolve, reject) => {
    const wake = () => {
      clearTimeout(timer);
      wakers.delete(wake);
      if (handler) resolve();
      else reject(new InterruptedError(received ?? 'SIGINT'));
    };
    const timer = setTimeout(() => {
      wakers.delete(wake);
      resolve();
    }, ms);
    if (!handler) wakers.add(wake);
  });
}

/** Calls `listener` when a signal comes (a prompt closes itself). Returns the function that removes it. */
export function whenInterrupted(listener: () => void): () => void {
  wakers.add(listener);
  return () => wakers.delete(listener);
}

/**
 * Stops `child` if the user interrupts while it runs: SIGTERM, SIGKILL after `graceMs`; the handler returns once the
 * child has exited (and was reaped), or after twice `graceMs` at most. Returns the release: call it once the child
 * has exited.
 */
export function stopOnInterrupt(child: ChildProcess, graceMs = 2000): () => void {
  return onInterrupt(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const giveUp = setTimeout(done, 2 * graceMs);
        function done() {
          clearTimeout(kill);
          clearTimeout(giveUp);
          resolve();
        }
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  );
}

/** Runs every handler, newest first; a failing handler is reported in one line and the rest still run. */
async function runHandlers(print: (line: string) => void): Promise<void> {
  for (const handler of [...handlers].reverse()) {
    try {
      await cleaning.run(true, handler);
    } catch (err) {
      print(`  (could not finish this step: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    }
  }
}

/** The signal itself: for the entry point, and for tests that interrupt in-process. */
export function interrupt(signal: string, print: (line: string) => void = (l) => console.error(l)): Promise<void> {
  if (finished) return finished;
  received = signal;
  print(`\nInterrupted (${signal}).${handlers.length ? '' : ' Nothing was left to undo.'}`);
  for (const wake of [...wakers]) wake();
  finished = runHandlers(print);
  return finished;
}

/**
 * Where the launcher (bin/dcos-cfn.mjs) keeps a signal that came before the entry point installed its handling.
 */
export const EARLY_SIGNAL = Symbol.for('dcos-cfn.early-signal');

/**
 * Installs the process's SIGINT and SIGTERM handling (entry point only), in place of the launcher's, and acts on
 * a signal the launcher kept; a closed stdout stops the command the same way, with exit {@link CLOSED_OUTPUT_EXIT}.
 */
export function installInterruptHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.exitCode = INTERRUPTED_EXIT;
    if (finished) {
      console.error(`\n${signal} again: exiting now, without finishing the clean-up above.`);
      process.exit(INTERRUPTED_EXIT);
    }
    void interrupt(signal).then(() => process.exit(INTERRUPTED_EXIT));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  // Node ignores SIGPIPE, so a closed stdout is a write error ('EPIPE'), thrown as an unhandled 'error' event with
  // a stack trace unless handled. It stops the command like the signal: quietly when there is nothing to undo,
  // otherwise through the handlers, then exit 141. Any other write error (a full disk under `> log`) stops it the
  // same way with exit 1. What the handlers print from then on (what was undone, the --follow command) goes to
  // stderr: stdout can no longer take it.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    const closed = err.code === 'EPIPE';
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    process.exitCode = closed ? CLOSED_OUTPUT_EXIT : 1;
    if (!closed) console.error(`error: cannot write the output (${err.code ?? err.message}): free space on, or fix, what stdout is redirected to, and run the command again.`);
    if (handlers.length === 0 && !finished) process.exit(process.exitCode);
    void interrupt(closed ? 'SIGPIPE' : `stdout ${err.code ?? 'error'}`).then(() => process.exit(closed ? CLOSED_OUTPUT_EXIT : 1));
  });
  const early = (globalThis as Record<symbol, unknown>)[EARLY_SIGNAL];
  if (early === 'SIGINT' || early === 'SIGTERM') onSignal(early);
}
