/**
 * The read calls of the live audit: the clients it needs (built like deploy's, from `--profile`,
 * `--region` and `--endpoint-url`, with the SDK's standard retry with backoff on throttling, 8 attempts),
 * and one `LiveReader` through which every call goes, so that each call is
 *
 * - **bounded**: abandoned after `callTimeoutMs`, and never past the run's deadline;
 * - **counted** by kind, as its IAM action (`ec2:DescribeInstances`), for `npm run bench`;
 * - **named** when it fails: a refused permission is `Access denied: ec2:DescribeSecurityGroupRules ...`.
 *
 * A refused read of live state (`read`, `pages`) does not end the run: it becomes `Unavailable`, with
 * that message, and the facts it would have given are open ("may be reachable, because ..."). A refused
 * CloudFormation call (`call`) ends it: without the stacks there is nothing to audit. Any other failure
 * (throttling that outlasted the retries, no credentials, an unreachable endpoint) ends it with one line.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UserError } from '../../errors.js';
import { awsErrorMessage, awsErrorName, connect, translateAwsError, type AwsOptions, type CallCounts } from '../../deploy/aws.js';

export interface LiveClients {
  readonly cfn: CloudFormationClient;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** Classic load balancers. */
  readonly elb: ElasticLoadBalancingClient;
  readonly autoscaling: AutoScalingClient;
  readonly region: string;
}

/** Builds the clients; the region is resolved and checked by deploy's `connect`, with its messages. */
export async function connectLive(options: AwsOptions): Promise<LiveClients> {
  const { region, cfn, s3, sts, ec2 } = await connect(options);
  // Deploy's clients turn errors into messages for deploy; the live audit names its calls itself.
  for (const client of [cfn, s3, sts, ec2]) client.destroy();
  const config = {
    ...(options.profile ? { profile: options.profile } : {}),
    region,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    maxAttempts: options.maxAttempts ?? 8,
    retryMode: 'standard',
  };
  return {
    cfn: new CloudFormationClient(config),
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    elb: new ElasticLoadBalancingClient(config),
    autoscaling: new AutoScalingClient(config),
    region,
  };
}

export function closeLive(clients: LiveClients): void {
  for (const client of [clients.cfn, clients.ec2, clients.elbv2, clients.elb, clients.autoscaling]) client.destroy();
}

/** A read AWS refused (a missing permission): `why` names the IAM action (`Access denied: ec2:DescribeSecurityGroupRules`). */
export class Unavailable {
  constructor(
    readonly why: string,
    /** The whole message, with the region, profile and AWS's words. @default why */
    readonly detail = why,
  ) {}
}

/** A value read live, or why it could not be read. */
export type Known<T> = T | Unavailable;

export const isKnown = <T>(value: Known<T>): value is T => !(value instanceof Unavailable);

/** IAM action of a call: `ec2:DescribeInstances`, `elasticloadbalancing:DescribeTargetHealth`. */
export type Action = `${'cloudformation' | 'ec2' | 'elasticloadbalancing' | 'autoscaling'}:${string}`;

export interface LiveReaderProps {
  readonly region: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  /** Milliseconds one call may take, retries included. @default 60000 */
  readonly callTimeoutMs?: number;
  /** Milliseconds the whole run may take. @default 300000 */
  readonly timeoutMs?: number;
  /** Attempts per call, for messages. @default 8 */
  readonly maxAttempts?: number;
}

const ACCESS_DENIED = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|Forbidden|UnauthorizedAccess)$/;

/** Pages of one listing at most (a loop guard: an endpoint repeating a token ends the listing there). */
const MAX_PAGES = 1000;

export class LiveReader {
  /** Calls made, by IAM action. A call retried by the SDK on throttling counts once. */
  readonly calls: CallCounts = {};
  /** Reads refused for lack of permission, in order, one message each. */
  readonly refused: string[] = [];
  private readonly deadline: number;
  /** Set once a call was abandoned at the run's bound: every later call is refused. */
  private expired = false;

  constructor(private readonly props: LiveReaderProps) {
    this.deadline = Date.now() + (props.timeoutMs ?? 300_000);
  }

  /** One call that the audit cannot do without: any failure ends the run with a UserError naming it. */
  async call<T>(action: Action, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const result = await this.send(action, send);
    if (result instanceof Unavailable) throw new UserError(`${result.detail}. The live audit cannot go on without it.`);
    return result;
  }

  /** One read of live state: a refused permission gives `Unavailable` (and is recorded); other failures end the run. */
  async read<T>(action: Action, send: (signal: AbortSignal) => Promise<T>): Promise<Known<T>> {
    const result = await this.send(action, send);
    if (result instanceof Unavailable && !this.refused.includes(result.detail)) this.refused.push(result.detail);
    return result;
  }

  /** Every page of a listing, as `read` does per page: items of all pages, or `Unavailable` if a page was refused. */
  async pages<P, T>(action: Action, send: (token: string | undefined, signal: AbortSignal) => Promise<P>, items: (page: P) => readonly T[] | undefined, next: (page: P) => string | undefined): Promise<Known<T[]>> {
    const all: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.read(action, (signal) => send(token, signal));
      if (result instanceof Unavailable) return result;
      all.push(...(items(result) ?? []));
      token = next(result);
      if (!token || seen.has(token)) break;
      seen.add(token);
    }
    return all;
  }

  private async send<T>(action: Action, send: (signal: AbortSignal) => Promise<T>): Promise<Known<T>> {
    const left = this.deadline - Date.now();
    const total = Math.round((this.props.timeoutMs ?? 300_000) / 1000);
    // `expired`: a call was abandoned at the run's bound. Its timer and Date.now() are different clocks, so `left` may
    // still be a millisecond above 0 then; the run is over all the same.
    if (left <= 0 || this.expired) throw new UserError(`The live audit did not finish within ${total} s (stopped before ${action}). Raise --timeout, or check the network.`);
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    const callMs = Math.min(this.props.callTimeoutMs ?? 60_000, left);
    const signal = AbortSignal.timeout(callMs);
    const abandoned = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    try {
      return await Promise.race([send(signal), abandoned]);
    } catch (err) {
      if (signal.aborted) {
        const where = this.props.endpointUrl ?? `AWS in ${this.props.region}`;
        if (callMs < (this.props.callTimeoutMs ?? 60_000)) this.expired = true;
        throw new UserError(
          callMs < (this.props.callTimeoutMs ?? 60_000)
            ? `The live audit did not finish within ${total} s (${action} was still waiting for ${where}). Raise --timeout, or check the network.`
            : `${action} got no answer within ${Math.round(callMs / 1000)} s from ${where}. Check the network (and --region), then run the audit again.`,
        );
      }
      return this.failure(action, err);
    }
  }

  private failure(action: Action, err: unknown): Unavailable {
    const name = awsErrorName(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const message = awsErrorMessage(err).split('\n')[0]!.trim();
    const profile = this.props.profile ? ` (profile ${this.props.profile})` : '';
    if (ACCESS_DENIED.test(name) || (status === 403 && !/^Validation|Throttl|RequestExpired|Signature|InvalidClientTokenId|ExpiredToken/.test(name))) {
      return new Unavailable(`Access denied: ${action}`, `Access denied: ${action} was refused in ${this.props.region}${profile}${message ? ` (AWS said: ${message})` : ''}`);
    }
    const operation = action.split(':')[1]!;
    const translated = translateAwsError(err, operation, { region: this.props.region, ...(this.props.profile ? { profile: this.props.profile } : {}), ...(this.props.endpointUrl ? { endpointUrl: this.props.endpointUrl } : {}), ...(this.props.maxAttempts ? { maxAttempts: this.props.maxAttempts } : {}) });
    if (translated instanceof UserError) throw new UserError(translated.message.replace(operation, action));
    throw new UserError(`${action} failed: ${name ? `${name}: ` : ''}${message}`);
  }
}
