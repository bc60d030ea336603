/**
 * The AWS clients deploy, diff and destroy use, built once from `--profile`, `--region` and
 * `--endpoint-url`, with the SDK's standard credential chain and its retry with backoff on throttling.
 *
 * Every client carries three middlewares:
 * - before each call, an interrupted command stops (lib/interrupt.ts), except for its own clean-up calls;
 * - each answer that is an HTML page (a captive portal, a proxy, a wrong --endpoint-url) is an error, not an
 *   empty result that would make a wait poll forever;
 * - each failure a user must fix (no credentials, an expired token, access denied, an unreachable region or
 *   endpoint, exhausted throttling retries, server errors, malformed answers) becomes an AwsCallError naming the
 *   call and the fix; other errors keep their name for the caller and are tagged with the call, so the entry
 *   point can still print them in one line. Calls are optionally counted by kind for the benchmark.
 * Sockets time out (connect 10 s, idle 60 s), so no call waits forever. No credential value ever reaches a message.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { DeserializeMiddleware, InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { AWS_OPERATION, UserError } from '../errors.js';
import { throwIfInterrupted } from '../interrupt.js';

export interface AwsOptions {
  /** Named profile from the shared config and credentials files. @default the SDK's default chain */
  readonly profile?: string;
  /** Region. @default AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region, then `fallbackRegion` */
  readonly region?: string;
  /**
   * Region to use when none is configured (no `region`, AWS_REGION, AWS_DEFAULT_REGION or profile region), e.g. the one
   * the synthesized cluster is defined for (`bundle.region` in out/manifest.json). @default none: no region is an error
   */
  readonly fallbackRegion?: string;
  /** Endpoint of a local emulator (moto), used for CloudFormation, S3 and STS alike. */
  readonly endpointUrl?: string;
  /** Attempts per call, including the first; retries back off exponentially on throttling. @default AWS_MAX_ATTEMPTS, else 8 */
  readonly maxAttempts?: number;
  /** Milliseconds a socket may stay silent during a call. @default 60000 */
  readonly requestTimeoutMs?: number;
}

/** What kind of problem an AwsCallError is, for callers that recover from some (a lost event stream). */
export type AwsProblem = 'credentials' | 'expired' | 'access' | 'region' | 'throttled' | 'network' | 'server' | 'malformed';

/** An AWS call that failed for a reason the user must act on; the message names the call and the fix. */
export class AwsCallError extends UserError {
  constructor(
    message: string,
    readonly operation: string,
    readonly problem: AwsProblem,
  ) {
    super(message);
    this.name = 'AwsCallError';
  }
}

/** Problems that pass by themselves: worth retrying later, unlike credentials or permissions. */
export function isTransient(err: unknown): boolean {
  const typed = err instanceof AwsCallError ? err : translateAwsError(err, 'a call', { region: 'the region' });
  return typed instanceof AwsCallError && ['throttled', 'network', 'server', 'malformed'].includes(typed.problem);
}

/** The AwsCallError an error stands for (raw SDK errors from a client without the middleware included). */
export function asAwsCallError(err: unknown): AwsCallError | undefined {
  const typed = err instanceof AwsCallError ? err : translateAwsError(err, 'a call', { region: 'the region' });
  return typed instanceof AwsCallError ? typed : undefined;
}

/** Checks --endpoint-url before any client is built (the SDK would throw a bare TypeError on the first call). */
export function checkEndpointUrl(endpointUrl: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new UserError(`--endpoint-url ${endpointUrl}: expected an http:// or https:// URL, like http://127.0.0.1:5000 for a local emulator.`, 2);
  }
}

/** An answer whose body is an HTML page: what a proxy, portal or wrong endpoint sends, never an AWS API. */
class HtmlAnswerError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(status: number) {
    super(`an HTML page (HTTP ${status})`);
    this.name = 'HtmlAnswer';
    this.$metadata = { httpStatusCode: status };
  }
}

const HTML = /^\s*(<!doctype html|<html[\s>])/i;

/** Reads an answer's body when it may be HTML, and refuses an HTML page; an API answer passes untouched. */
const refuseHtml: DeserializeMiddleware<object, MetadataBearer> = (next) => async (args) => {
  const result = await next(args);
  const response = result.response as { statusCode?: number; headers?: Record<string, string>; body?: unknown };
  const type = response.headers?.['content-type'] ?? '';
  const body = response.body as (AsyncIterable<Uint8Array> & { pipe?: unknown }) | undefined;
  if (!/html/i.test(type) || !body || typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') return result;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (HTML.test(bytes.subarray(0, 512).toString('utf8'))) throw new HtmlAnswerError(response.statusCode ?? 0);
  response.body = new Uint8Array(bytes);
  return result;
};

/** Calls made, by operation name (`DescribeStacks`), when counting is on. */
export type CallCounts = Record<string, number>;

export interface AwsClients {
  readonly cfn: CloudFormationClient;
  readonly s3: S3Client;
  readonly sts: STSClient;
  /** For destroy only: turning termination protection off on the instances that have it. */
  readonly ec2: EC2Client;
  readonly region: string;
  /** True when `region` is the fallback because none was configured. */
  readonly regionIsFallback?: boolean;
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

/** Attempts per call: the option, else the SDK's standard AWS_MAX_ATTEMPTS variable, else 8. */
function maxAttemptsOf(options: AwsOptions): number {
  const fromEnv = Number(process.env['AWS_MAX_ATTEMPTS']);
  return options.maxAttempts ?? (Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : 8);
}

/**
 * Refuses a named profile that neither shared file defines. The SDK would only say later that it found no region or
 * no credentials; this names the profile, the files read and the profiles they hold. Read with the SDK's own loader
 * (`@smithy/core`), so `[profile x]` in the config file and `[x]` in the credentials file count alike.
 */
async function checkProfile(profile: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { loadSharedConfigFiles } = await import('@smithy/core/config');
  const { configFile, credentialsFile } = await loadSharedConfigFiles({ ignoreCache: true });
  if (Object.hasOwn(configFile, profile) || Object.hasOwn(credentialsFile, profile)) return;
  const files = [env['AWS_CONFIG_FILE'] ?? '~/.aws/config', env['AWS_SHARED_CREDENTIALS_FILE'] ?? '~/.aws/credentials'];
  const known = [...new Set([...Object.keys(configFile), ...Object.keys(credentialsFile)])].filter((p) => !p.includes('.')).sort();
  throw new UserError(
    `The AWS profile '${profile}' (--profile) does not exist in ${files.join(' or ')}; ${known.length ? `the profiles there are ${known.join(', ')}` : 'they define no profile'}. ` +
      `Check the name, or create it with 'aws configure --profile ${profile}' (or 'aws configure sso').`,
  );
}

/**
 * The region: `region`, else AWS_REGION, else AWS_DEFAULT_REGION (aws-cli's order; the SDK alone reads only
 * AWS_REGION), else the profile's, else `fallbackRegion`; checked.
 */
async function resolveRegion(options: AwsOptions): Promise<{ readonly region: string; readonly fallback: boolean }> {
  let region = options.region || process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'];
  let fallback = false;
  if (!region) {
    try {
      region = await new CloudFormationClient(options.profile ? { profile: options.profile } : {}).config.region();
    } catch {
      if (!options.fallbackRegion) {
        throw new UserError('No AWS region is configured. Pass --region REGION, set AWS_REGION, or set "region" in the profile (aws configure).');
      }
      region = options.fallbackRegion;
      fallback = true;
    }
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    const given = options.region ? `--region ${region}` : `"${region}"`;
    throw new UserError(`${given} is not an AWS region name (expected something like eu-west-1). Check --region, AWS_REGION and AWS_DEFAULT_REGION.`, options.region ? 2 : 1);
  }
  return { region, fallback };
}

/** Builds the clients, resolving the region and the credentials once so their errors come first. */
export async function connect(options: AwsOptions, countCalls = false): Promise<AwsClients> {
  quietNodeVersionNotice();
  const calls: CallCounts = {};
  if (options.endpointUrl !== undefined) checkEndpointUrl(options.endpointUrl);
  if (options.profile !== undefined) await checkProfile(options.profile);
  const { region, fallback } = await resolveRegion(options);
  const common = {
    ...(options.profile ? { profile: options.profile } : {}),
    region,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    maxAttempts: maxAttemptsOf(options),
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: options.requestTimeoutMs ?? 60_000 },
  };
  const cfn = new CloudFormationClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: options.endpointUrl !== undefined, followRegionRedirects: false });
  const sts = new STSClient(common);
  const ec2 = new EC2Client(common);
  const middleware: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
    throwIfInterrupted();
    if (countCalls) calls[operation] = (calls[operation] ?? 0) + 1;
    try {
      return await next(args);
    } catch (err) {
      const translated = translateAwsError(err, operation, { region, ...options, maxAttempts: maxAttemptsOf(options) });
      if (translated !== null && typeof translated === 'object' && !(translated instanceof UserError)) {
        Object.defineProperty(translated, AWS_OPERATION, { value: operation, configurable: true });
      }
      throw translated;
    }
  };
  for (const stack of [cfn.middlewareStack, s3.middlewareStack, sts.middlewareStack, ec2.middlewareStack] as { add(m: unknown, o: object): void }[]) {
    stack.add(middleware, { step: 'initialize', name: 'dcosCfnUserErrors' });
    stack.add(refuseHtml, { step: 'deserialize', priority: 'low', name: 'dcosCfnRefuseHtml' });
  }
  return { cfn, s3, sts, ec2, region, ...(fallback ? { regionIsFallback: true } : {}), calls };
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
  const fail = (text: string, problem: AwsProblem) => new AwsCallError(text, operation, problem);
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (name === 'HtmlAnswer' || (/Deserialization error/.test(message) && status < 500)) {
    const what = name === 'HtmlAnswer' ? message : `an answer that is not AWS's (HTTP ${status || '?'}: ${message.split('\n')[0]})`;
    return fail(
      `The endpoint answered ${operation} with ${what}, not an AWS API answer. ` +
        (where.endpointUrl ? `Check --endpoint-url ${where.endpointUrl}` : 'Check the network (a proxy or captive portal in between?)') + ' and run again.',
      'malformed',
    );
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials|Resolved credential object is not valid/.test(message)) {
    if (/sso|token.*expired|expired.*token/i.test(message)) {
      return fail(`The SSO session${profile} has expired. Run 'aws sso login${where.profile ? ` --profile ${where.profile}` : ''}' and try again.`, 'expired');
    }
    return fail(`No AWS credentials found${profile}. ${CREDENTIAL_HELP}`, 'credentials');
  }
  if (/^(ExpiredToken|ExpiredTokenException|RequestExpired|TokenRefreshRequired)$/.test(name)) {
    return fail(
      `The AWS credentials${profile} have expired (${operation} was refused). Get fresh ones (aws sso login, or a new session token) and try again.`,
      'expired',
    );
  }
  if (/^(InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|IncompleteSignature)$/.test(name)) {
    return fail(`AWS rejected the credentials${profile} on ${operation} (${name}): they are wrong or deleted. ${CREDENTIAL_HELP}`, 'credentials');
  }
  if (/^(AccessDenied|AccessDeniedException|UnauthorizedOperation|Forbidden)$/.test(name) || (status === 403 && !/^Validation/.test(name))) {
    return fail(
      `Access denied: ${operation} in ${where.region} was refused${profile}. Grant the permission for this call to the identity in use, or use a profile that has it.` +
        (message && message !== 'Forbidden' && message !== 'UnknownError' ? `\n  AWS said: ${message}` : ''),
      'access',
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    const region = /expecting '([a-z0-9-]+)'/.exec(message)?.[1];
    return fail(
      `The S3 bucket is in another region${region ? ` (${region})` : ''} than ${where.region} (${operation}). CloudFormation reads nested templates from a bucket in the stack's region: pass --bucket with a bucket in ${where.region}, or omit --bucket to use the default one.`,
      'region',
    );
  }
  if (e.$retryable?.throttling || /^(Throttling|ThrottlingException|TooManyRequestsException|RequestLimitExceeded|SlowDown)$/.test(name)) {
    return fail(`AWS kept throttling ${operation} after ${where.maxAttempts ?? 8} attempts with backoff. Wait a minute and run the command again.`, 'throttled');
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /getaddrinfo/.test(message)) {
    return fail(
      where.endpointUrl
        ? `Cannot resolve the host of --endpoint-url ${where.endpointUrl} (${operation}).`
        : `Cannot reach AWS in region ${where.region} (${operation}: host not found). Check --region / AWS_REGION and the network.`,
      'network',
    );
  }
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return fail(`Nothing answers at ${where.endpointUrl ?? `the ${where.region} endpoint`} (${operation}: connection refused). Is the endpoint running?`, 'network');
  }
  if (/^(ECONNRESET|ETIMEDOUT|EPIPE|ECONNABORTED|EHOSTUNREACH|ENETUNREACH)$/.test(code ?? '') || name === 'TimeoutError' || /socket hang up|timed? ?out/i.test(message)) {
    return fail(`The connection to ${where.endpointUrl ?? `AWS in ${where.region}`} broke during ${operation} (${code ?? name}: ${message.split('\n')[0]}). Check the network and run again.`, 'network');
  }
  if (status >= 500) {
    const said = /Deserialization error|XML parse error/.test(message) ? 'with a body that is not an AWS API answer' : `"${message.split('\n')[0]}"`;
    return fail(`AWS answered ${operation} with HTTP ${status} ${said}, ${e.$metadata && 'attempts' in e.$metadata ? `${String((e.$metadata as { attempts?: number }).attempts)} attempts` : 'after retries'}. It is a server-side problem: run the command again in a minute.`, 'server');
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
