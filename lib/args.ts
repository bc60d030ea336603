import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` with user-facing errors: an unknown or malformed option becomes a UserError that
 * names the option and points at `--help`, instead of a Node stack trace.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UserError(`${message.replace(/\. To specify a positional argument.*$/s, '')}\nRun 'npm run ${command} -- --help' for the options.`, 2);
  }
}
