import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from './errors.js';
import { nearest } from './suggest.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` with user-facing errors: an unknown or malformed option becomes a UserError (exit 2) that
 * names the option, suggests the nearest known one for a typo, and points at `--help`, instead of a Node stack trace.
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
    const message = (err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional argument.*$/s, '');
    const unknown = /^Unknown option '--?([^'=]+)/.exec(message)?.[1];
    const near = unknown === undefined ? [] : nearest(unknown, Object.keys(options)).map((o) => `--${o}`);
    const hint = near.length ? `. Did you mean ${near.join(' or ')}?` : '';
    throw new UserError(`${message}${hint}\nRun 'npm run ${command} -- --help' for the options.`, 2);
  }
}

/** The longest wait any `--...timeout SECONDS` option takes: one day. */
const MAX_TIMEOUT_SECONDS = 86_400;

/**
 * A `--timeout`-like option in whole seconds, from 1 to {@link MAX_TIMEOUT_SECONDS}: `raw` as parsed (undefined
 * when not given, then `fallback`). Returns milliseconds. A wrong value is a UserError naming the option (exit 2).
 */
export function parseTimeout(option: string, raw: string | undefined, fallbackSeconds: number): number {
  const seconds = raw === undefined ? fallbackSeconds : Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new UserError(`--${option} ${raw}: expected whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}.`, 2);
  }
  return seconds * 1000;
}

/**
 * Which stack, and how to reach AWS: the options of every command that calls AWS (deploy, diff, destroy, drift,
 * package, the live audit). Each command says what `--stack-name` means for it; {@link AWS_HELP} documents the rest.
 */
export const AWS_OPTIONS = {
  'stack-name': { type: 'string' },
  profile: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
} as const;

export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** For the commands that ask before they change anything (deploy, destroy). */
export const YES_OPTION = { yes: { type: 'boolean', short: 'y' } } as const;

export const AWS_HELP = `AWS:
  --profile NAME          named profile (shared config/credentials, SSO) (default: the SDK's chain:
                          environment, default profile, SSO, instance role)
  --region REGION         (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region; deploy, diff
                          and package then take the region the cluster in --out is defined for, and say so)
  --endpoint-url URL      a local emulator such as moto_server, for every AWS call`;

export const YES_HELP = `  -y, --yes               do not ask (CI); without a terminal, --yes is required to change anything`;

export const HELP_HELP = `  -h, --help              this text`;
