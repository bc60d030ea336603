/**
 * The question before a change: asked on a terminal, answered by `--yes` in CI, refused otherwise. Commands
 * check for a terminal before they create anything (`requireConfirmation`), so a run that could never be
 * confirmed leaves nothing behind. Ctrl-C at the prompt is an interrupt like any other (the command's
 * handlers undo what it created); end of input is a "no".
 */
import { createInterface } from 'node:readline';
import { UserError } from '../errors.js';
import { InterruptedError, interruptSignal, whenInterrupted } from '../interrupt.js';

/**
 * Throws unless `--yes` was given or someone at a terminal can answer.
 * @param untouched what the refusal says was left alone. @default 'Nothing was created.' (destroy: nothing deleted)
 */
export function requireConfirmation(yes: boolean, alternative: string, untouched = 'Nothing was created.'): void {
  if (yes || process.stdin.isTTY) return;
  throw new UserError(`Not a terminal, so no one can confirm: pass --yes to go ahead without asking${alternative}. ${untouched}`);
}

/** Returns true to go on. Without a terminal and without `--yes` it refuses with the flags to use. */
export async function confirm(question: string, yes: boolean, alternative: string, untouched?: string): Promise<boolean> {
  if (yes) return true;
  requireConfirmation(yes, alternative, untouched);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // In raw mode the terminal's Ctrl-C reaches readline, not the process: pass it on as the signal it is.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  let unhook = () => {};
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      unhook = whenInterrupted(() => resolve(undefined));
      rl.once('close', () => resolve(''));
      rl.question(`${question} [y/N] `, resolve);
    });
    if (answer === undefined) throw new InterruptedError(interruptSignal() ?? 'SIGINT');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    unhook();
    rl.close();
  }
}
