/** The question before a change: asked on a terminal, answered by `--yes` in CI, refused otherwise. */
import { createInterface } from 'node:readline/promises';
import { UserError } from '../errors.js';

/** Returns true to go on. Without a terminal and without `--yes` it refuses with the flags to use. */
export async function confirm(question: string, yes: boolean, alternative: string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new UserError(`Not a terminal, so no one can confirm: pass --yes to go ahead without asking${alternative}.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
