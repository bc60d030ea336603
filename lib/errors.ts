/**
 * A mistake the user can fix: a wrong config value, a missing parameter, no credentials.
 * The CLI prints its message (no stack trace) and exits non-zero.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** Process exit code. @default 1 */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Many problems found at once, reported together. */
export class ValidationError extends UserError {
  constructor(
    readonly heading: string,
    readonly problems: readonly string[],
  ) {
    super(`${heading}\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ValidationError';
  }
}

/** Where the AWS middleware records which call an SDK error came from (`CreateChangeSet`). */
export const AWS_OPERATION = Symbol.for('dcos-cfn.aws-operation');

interface ServiceErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly [AWS_OPERATION]?: string;
}

/** What to do about an AWS error no caller handled, by its name or fault. */
function awsAdvice(e: ServiceErrorShape, operation: string): string {
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || e.$fault === 'server') return 'AWS had a server-side problem: run the command again in a minute.';
  if (/LimitExceeded|QuotaExceeded/.test(name)) return 'An account quota is reached: remove unused resources or raise the quota in Service Quotas, then run again.';
  if (/InsufficientCapabilities/.test(name)) return 'The templates need a capability deploy did not pass: please report this.';
  if (/ChangeSet|Template|Stack/.test(operation) && name === 'ValidationError') {
    return "CloudFormation refused the request: fix what it says (for a template problem, 'npm run synth' and 'npm run lint'), then run again.";
  }
  return 'Fix what AWS says, then run the command again.';
}

/**
 * One line for an AWS error that no caller turned into a UserError: the call, the service's message and
 * what to do. Undefined for anything that is not an AWS SDK error.
 */
export function describeAwsError(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object' || !('$metadata' in err)) return undefined;
  const e = err as ServiceErrorShape;
  const operation = e[AWS_OPERATION] ?? 'an AWS call';
  const status = e.$metadata?.httpStatusCode;
  const said = (e.message ?? '').split('\n')[0]!.replace(/\s+$/, '') || 'no message';
  const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `AWS ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${name}${said}. ${awsAdvice(e, operation)}`;
}
