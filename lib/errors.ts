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
