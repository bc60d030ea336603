/**
 * The AWS clients deploy, diff and destroy use, built once from `--profile`, `--region` and
 * `--endpoint-url`, with the SDK's standard credential chain and its retry with backoff on throttling.
 *
 * Every client carries one middleware that turns the failures a user must fix (no credentials, an
 * expired token, access denied, an unreachable region, exhausted throttling retries) into a UserError
 * naming the call and the fix, and optionally counts calls by kind for the benchmark.
 * No credential value ever reaches a message.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { UserError } from '../errors.js';

export interface AwsOptions {
  /** Named profile from the shared config and credentials files. @default the SDK's default chain */
  readonly profile?: string;
  /** Region. @default AWS_REGION, then the profile's region */
  readonly region?: string;
  /** Endpoint of a local emulator (moto), used for CloudFormation, S3 and STS alike. */
  readonly endpointUrl?: string;
  /** Attempts per call, including the first; retries back off exponentially on throttling. @default 8 */
  readonly maxAttempts?: number;
}

/** Calls made, by operation name (`DescribeStacks`), when counting is on. */
export type CallCounts = Record<string, number>;

export interface AwsClients {
  readonly cfn: CloudFormationClient;
  readonly s3: S3Client;
  readonly sts: STSClient;
  readonly region: string;
  /** Filled when `connect` was asked to count calls. */
  readonly calls: CallCounts;
}

/** Operations that change nothing. Everything else counts as a write. */
export function isReadCall(operation: string): boolean {
  return /^(Describe|Get|List|Head|Validate|Estimate)/.test(operation);
}

/** The AWS SDK's switch for its Node-version notice (`@aws-sdk/core`, `emitWarningIfUnsupportedVersion`). */
export const NODE_VERSION_NOTICE_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Turns off the SDK's 9-line NodeVersionSupportWarning on Node 20, unless the user set the switch either way.
 * The SDK prints it on every Node older than 22 (its check is the major version alone): SDK releases after the
 * first week of January 2027 will require Node 22. The SDK versions the lockfile installs declare Node 20 in
 * their engines (a test keeps it so), and this project supports 20.19+, so on Node 20 the notice speaks to
 * whoever updates the lockfile, not to someone deploying; the README says Node 20 is past its end of life.
 * On Node 22 and 24 the SDK prints nothing and this does nothing.
 */
export function quietNodeVersionNotice(env: NodeJS.ProcessEnv = process.env, nodeVersion = process.versions.node): void {
  if (Number(nodeVersion.split('.')[0]) < 22 && env[NODE_VERSION_NOTICE_SWITCH] === undefined) env[NODE_VERSION_NOTICE_SWITCH] = 'true';
}

/** Builds the clients, resolving the region and the credentials once so their errors come first. */
export async function connect(options: AwsOptions, countCalls = false): Promise<AwsClients> {
  quietNodeVersionNotice();
  const calls: CallCounts = {};
  const common = {
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    maxAttempts: options.maxAttempts ?? 8,
    retryMode: 'standard',
  };
  const cfn = new CloudFormationClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: options.endpointUrl !== undefined, followRegionRedirects: false });
  const sts = new STSClient(common);
  let region: string;
  try {
    region = await cfn.config.region();
  } catch {
    throw new UserError(
      'No AWS region is configured. Pass --region REGION, set AWS_REGION, or set "region" in the profile (aws configure).',
    );
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new UserError(`"${region}" is not an AWS region name (expected something like eu-west-1). Check --region or AWS_REGION.`);
  }
  const middleware: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
    if (countCalls) calls[operation] = (calls[operation] ?? 0) + 1;
    try {
      return await next(args);
    } catch (err) {
      throw translateAwsError(err, operation, { region, ...options });
    }
  };
  const step = { step: 'initialize', name: 'dcosCfnUserErrors' } as const;
  cfn.middlewareStack.add(middleware as never, step);
  s3.middlewareStack.add(middleware as never, step);
  sts.middlewareStack.add(middleware as never, step);
  return { cfn, s3, sts, region, calls };
}

/** The account the credentials belong to (also the first proof that they work). */
export async function accountId(clients: AwsClients): Promise<string> {
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  return identity.Account ?? 'unknown';
}

interface AwsErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

const CREDENTIAL_HELP =
  'Configure credentials with one of: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --profile NAME (aws configure, or aws sso login --profile NAME), or an instance role.';

/**
 * Maps an SDK error to a UserError when the user must act; returns any other error unchanged
 * (a missing stack, a validation error) for the caller to handle.
 */
export function translateAwsError(err: unknown, operation: string, where: AwsOptions & { readonly region: string }): unknown {
  if (err instanceof UserError || err === null || typeof err !== 'object') return err;
  const e = err as AwsErrorShape;
  const name = e.name ?? e.code ?? '';
  const message = (e.message ?? '').replace(/\s+$/, '');
  const profile = where.profile ? ` (profile ${where.profile})` : '';
  if (name === 'CredentialsProviderError' || /Could not load credentials|Resolved credential object is not valid/.test(message)) {
    if (/sso|token.*expired|expired.*token/i.test(message)) {
      return new UserError(`The SSO session${profile} has expired. Run 'aws sso login${where.profile ? ` --profile ${where.profile}` : ''}' and try again.`);
    }
    return new UserError(`No AWS credentials found${profile}. ${CREDENTIAL_HELP}`);
  }
  if (/^(ExpiredToken|ExpiredTokenException|RequestExpired|TokenRefreshRequired)$/.test(name)) {
    return new UserError(
      `The AWS credentials${profile} have expired (${operation} was refused). Get fresh ones (aws sso login, or a new session token) and try again.`,
    );
  }
  if (/^(InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|IncompleteSignature)$/.test(name)) {
    return new UserError(`AWS rejected the credentials${profile} on ${operation} (${name}): they are wrong or deleted. ${CREDENTIAL_HELP}`);
  }
  if (/^(AccessDenied|AccessDeniedException|UnauthorizedOperation|Forbidden)$/.test(name) || (e.$metadata?.httpStatusCode === 403 && !/^Validation/.test(name))) {
    return new UserError(
      `Access denied: ${operation} in ${where.region} was refused${profile}. Grant the permission for this call to the identity in use, or use a profile that has it.` +
        (message && message !== 'Forbidden' && message !== 'UnknownError' ? `\n  AWS said: ${message}` : ''),
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || e.$metadata?.httpStatusCode === 301) {
    const region = /expecting '([a-z0-9-]+)'/.exec(message)?.[1];
    return new UserError(
      `The S3 bucket is in another region${region ? ` (${region})` : ''} than ${where.region} (${operation}). CloudFormation reads nested templates from a bucket in the stack's region: pass --bucket with a bucket in ${where.region}, or omit --bucket to use the default one.`,
    );
  }
  if (e.$retryable?.throttling || /^(Throttling|ThrottlingException|TooManyRequestsException|RequestLimitExceeded|SlowDown)$/.test(name)) {
    return new UserError(`AWS kept throttling ${operation} after ${where.maxAttempts ?? 8} attempts with backoff. Wait a minute and run the command again.`);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /getaddrinfo/.test(message)) {
    return new UserError(
      where.endpointUrl
        ? `Cannot resolve the host of --endpoint-url ${where.endpointUrl} (${operation}).`
        : `Cannot reach AWS in region ${where.region} (${operation}: host not found). Check --region / AWS_REGION and the network.`,
    );
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || /ECONNREFUSED/.test(message)) {
    return new UserError(`Nothing answers at ${where.endpointUrl ?? `the ${where.region} endpoint`} (${operation}: connection refused). Is the endpoint running?`);
  }
  return err;
}

/** The AWS error name, for callers that branch on expected errors (a missing stack, no changes). */
export function awsErrorName(err: unknown): string {
  const e = err as AwsErrorShape | undefined;
  return e?.name ?? e?.code ?? '';
}

export function awsErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
