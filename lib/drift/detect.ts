/**
 * CloudFormation drift detection over a root stack and every nested stack below it: start one
 * detection per stack (DetectStackDrift), wait for all of them with a bound and progress
 * (DescribeStackDriftDetectionStatus), then read every resource's result (DescribeStackResourceDrifts,
 * every page). CloudFormation does not look into nested stacks when asked about their parent ("Perform
 * DetectStackDrift directly on the nested stack itself", API reference, DetectStackDrift), so each
 * stack gets its own detection. Nested stacks are the parent's `AWS::CloudFormation::Stack` resources,
 * whose physical ID is the nested stack's ARN.
 *
 * Every call goes through the clients of `connect` (lib/deploy/aws.ts): throttling is retried with
 * backoff by the SDK, and a refused permission becomes a UserError naming the call. Anything else AWS
 * (or an emulator) answers becomes one line naming the call and the stack, never a stack trace.
 */
import {
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DetectStackDriftCommand,
  type CloudFormationClient,
  type StackResourceDrift,
} from '@aws-sdk/client-cloudformation';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { AwsCallError, awsErrorMessage, awsErrorName, type AwsClients } from '../deploy/aws.js';
import { describeStack } from '../deploy/stack-state.js';
import { nestedStackIds } from '../deploy/stack-policy.js';

export interface DetectDriftProps {
  readonly clients: Pick<AwsClients, 'cfn' | 'region'>;
  /** Root stack name or ARN. */
  readonly stackName: string;
  /** `--endpoint-url`, named when an emulator does not answer like AWS. */
  readonly endpointUrl?: string;
  /** One line per event worth telling while waiting (the CLI writes them to stderr). */
  readonly progress: (line: string) => void;
  /** Milliseconds between status polls of the stacks still being checked. @default 2000 */
  readonly pollMs?: number;
  /** Milliseconds to wait for all detections together before giving up on the rest. @default 600000 */
  readonly timeoutMs?: number;
  /** The option that raises `timeoutMs`, named when the wait ends early. @default --timeout */
  readonly timeoutOption?: string;
  /** Milliseconds between "still detecting" lines. @default 30000 */
  readonly progressEveryMs?: number;
  /**
   * Milliseconds one call may take, retries included, before it is abandoned with an error. The drift
   * calls' requests are aborted then; those of deploy's helpers that list the stacks run out on their own.
   * @default 120000
   */
  readonly callTimeoutMs?: number;
  /**
   * Stops the detection when aborted (a deploy that failed before it needed the result): the wait ends and no
   * further call is made; CloudFormation finishes the detections already started on its own.
   */
  readonly signal?: AbortSignal;
}

/**
 * How a stack's detection ended: `complete`; `failed` (CloudFormation could not check some resources;
 * the others have results); `timed-out` (still running when the wait ended; no results read);
 * `refused` (DetectStackDrift answered with a validation error, such as a stack being updated).
 */
export type DetectionOutcome = 'complete' | 'failed' | 'timed-out' | 'refused';

export interface StackDrift {
  /** `Root`, or the nested stack's logical ID path below the root (`Network`, `Network/Inner`). */
  readonly path: string;
  /** Stack ARN (the root's name when AWS gave no ARN). */
  readonly stackId: string;
  readonly outcome: DetectionOutcome;
  /** Why the detection failed, was refused or timed out (CloudFormation's DetectionStatusReason, or AWS's refusal). */
  readonly reason?: string;
  /** The stack's StackDriftStatus: IN_SYNC, DRIFTED, UNKNOWN or NOT_CHECKED, when the detection ended. */
  readonly stackDriftStatus?: string;
  /** Every resource's result, as DescribeStackResourceDrifts returns them; empty unless complete or failed. */
  readonly resources: readonly StackResourceDrift[];
}

interface StackRef {
  readonly path: string;
  readonly stackId: string;
}

/** Runs drift detection on the root stack and all its nested stacks; resolves with one entry per stack, root first. */
export async function detectDrift(props: DetectDriftProps): Promise<StackDrift[]> {
  const bound = { endpointUrl: props.endpointUrl, region: props.clients.region, timeoutMs: props.callTimeoutMs ?? 120_000, stop: props.signal };
  // Messages name the stack as the user knows it: the root by its name, a nested stack by its path below it.
  const call: Call = (operation, path, send) => callAws(operation, path === 'Root' ? props.stackName : `${props.stackName}/${path}`, send, bound);

  const stacks = await listStacks(props.clients, props.stackName, call);
  const nested = stacks.slice(1).map((s) => s.path);
  props.progress(`Detecting drift on ${props.stackName}${nested.length ? ` and its ${nested.length} nested stack(s) (${nested.join(', ')})` : ''} ...`);
  const { running, done } = await startDetections(props, stacks, call);
  await waitForDetections(props, running, done, call);
  return stacks.map((s) => done.get(s.path)!);
}

type Running = Map<string, StackRef & { readonly detectionId: string }>;

/** DetectStackDrift on each stack; a stack AWS refuses (a ValidationError) is done at once, as `refused`. */
async function startDetections(props: DetectDriftProps, stacks: readonly StackRef[], call: Call): Promise<{ running: Running; done: Map<string, StackDrift> }> {
  const running: Running = new Map();
  const done = new Map<string, StackDrift>();
  for (const stack of stacks) {
    try {
      const started = await call('DetectStackDrift', stack.path, (signal) =>
        props.clients.cfn.send(new DetectStackDriftCommand({ StackName: stack.stackId }), { abortSignal: signal }),
      );
      running.set(stack.path, { ...stack, detectionId: started.StackDriftDetectionId ?? '' });
    } catch (err) {
      if (!(err instanceof RefusedError)) throw err;
      props.progress(`  ${stack.path}: DetectStackDrift refused: ${err.message}`);
      done.set(stack.path, { ...stack, outcome: 'refused', reason: err.message, resources: [] });
    }
  }
  return { running, done };
}

/**
 * Polls each running detection until it ends (then reads its results) or the wait's bound is reached
 * (then the stacks still running are `timed-out`), with a progress line per finished stack and a
 * "still detecting" line now and then.
 */
async function waitForDetections(props: DetectDriftProps, running: Running, done: Map<string, StackDrift>, call: Call): Promise<void> {
  const { clients, progress } = props;
  const pollMs = props.pollMs ?? 2000;
  const timeoutMs = props.timeoutMs ?? 600_000;
  const progressEveryMs = props.progressEveryMs ?? 30_000;
  const start = Date.now();
  let lastNote = start;
  while (running.size > 0) {
    for (const stack of [...running.values()]) {
      const status = await call('DescribeStackDriftDetectionStatus', stack.path, (signal) =>
        clients.cfn.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: stack.detectionId }), { abortSignal: signal }),
      );
      if (status.DetectionStatus === 'DETECTION_IN_PROGRESS') continue;
      running.delete(stack.path);
      const outcome = status.DetectionStatus === 'DETECTION_COMPLETE' ? 'complete' : 'failed';
      const seconds = Math.round((Date.now() - start) / 1000);
      const drifted = status.DriftedStackResourceCount ? `, ${status.DriftedStackResourceCount} resource(s) drifted` : '';
      const reason = status.DetectionStatusReason?.trim();
      progress(`  ${stack.path}: ${outcome === 'complete' ? status.StackDriftStatus ?? 'UNKNOWN' : `DETECTION_FAILED${reason ? `: ${reason}` : ''}`}${drifted} (${seconds} s)`);
      done.set(stack.path, {
        path: stack.path,
        stackId: stack.stackId,
        outcome,
        ...(outcome === 'failed' && reason ? { reason } : {}),
        ...(status.StackDriftStatus ? { stackDriftStatus: status.StackDriftStatus } : {}),
        resources: await readResourceDrifts(clients.cfn, stack, call),
      });
    }
    if (running.size === 0) return;
    const elapsed = Date.now() - start;
    if (elapsed >= timeoutMs) {
      const reason = `still running after ${Math.round(timeoutMs / 1000)} s (CloudFormation finishes it on its own; run drift again later, or raise ${props.timeoutOption ?? '--timeout'})`;
      progress(`  timed out waiting for ${[...running.keys()].join(', ')}: ${reason}`);
      for (const stack of running.values()) done.set(stack.path, { path: stack.path, stackId: stack.stackId, outcome: 'timed-out', reason, resources: [] });
      return;
    }
    if (Date.now() - lastNote >= progressEveryMs) {
      lastNote = Date.now();
      progress(`  still detecting: ${[...running.keys()].join(', ')} (${Math.round(elapsed / 1000)} s of at most ${Math.round(timeoutMs / 1000)} s)`);
    }
    await sleep(Math.min(pollMs, timeoutMs - elapsed), undefined, props.signal ? { signal: props.signal } : {});
  }
}

type Call = <T>(operation: string, stack: string, send: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** The root and every stack nested below it, depth first, parents before children. */
async function listStacks(clients: Pick<AwsClients, 'cfn' | 'region'>, stackName: string, call: Call): Promise<StackRef[]> {
  const root = await call('DescribeStacks', 'Root', () => describeStack(clients.cfn, stackName));
  if (!root) throw new UserError(`Stack ${stackName} does not exist in ${clients.region}. Check --stack-name and --region (or --profile).`);
  const stacks: StackRef[] = [];
  const visit = async (path: string, stackId: string, prefix: string): Promise<void> => {
    if (stacks.some((s) => s.stackId === stackId)) return; // a stack listed as its own descendant is visited once
    stacks.push({ path, stackId });
    const children = await call('ListStackResources', path, () => nestedStackIds(clients.cfn, stackId));
    for (const [logicalId, arn] of children) await visit(`${prefix}${logicalId}`, arn, `${prefix}${logicalId}/`);
  };
  await visit('Root', root.StackId ?? stackName, '');
  return stacks;
}

/** Every resource result of the stack's latest detection, all pages (at most 100 a page). */
async function readResourceDrifts(cfn: CloudFormationClient, stack: StackRef, call: Call): Promise<StackResourceDrift[]> {
  const drifts: StackResourceDrift[] = [];
  let token: string | undefined;
  do {
    const page = await call('DescribeStackResourceDrifts', stack.path, (signal) =>
      cfn.send(new DescribeStackResourceDriftsCommand({ StackName: stack.stackId, MaxResults: 100, ...(token ? { NextToken: token } : {}) }), { abortSignal: signal }),
    );
    drifts.push(...(page.StackResourceDrifts ?? []));
    token = page.NextToken;
  } while (token);
  return drifts;
}

/** AWS refused to start a detection on this stack (a ValidationError): the stack is reported, not the run ended. */
class RefusedError extends Error {}

/**
 * Sends one call, abandoning it after `timeoutMs`. A UserError (credentials, access denied, throttling
 * that outlasted the retries) passes through; a ValidationError of DetectStackDrift becomes a
 * RefusedError; anything else a one-line UserError naming the call and the stack.
 */
async function callAws<T>(
  operation: string,
  stack: string,
  send: (signal: AbortSignal) => Promise<T>,
  bound: { readonly endpointUrl: string | undefined; readonly region: string; readonly timeoutMs: number; readonly stop: AbortSignal | undefined },
): Promise<T> {
  const { endpointUrl, stop } = bound;
  stop?.throwIfAborted();
  const signal = stop ? AbortSignal.any([AbortSignal.timeout(bound.timeoutMs), stop]) : AbortSignal.timeout(bound.timeoutMs);
  const abandoned = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  try {
    return await Promise.race([send(signal), abandoned]);
  } catch (err) {
    // An emulator that lacks drift detection answers with an error page (moto: HTML, HTTP 500).
    if (err instanceof AwsCallError && endpointUrl && (err.problem === 'malformed' || err.problem === 'server')) throw notImplemented(operation, stack, endpointUrl, Number(/HTTP (\d{3})/.exec(err.message)?.[1]) || undefined);
    if (err instanceof UserError) throw err;
    if (stop?.aborted) throw stop.reason;
    if (signal.aborted) {
      throw new UserError(
        `${operation} (stack ${stack}) got no answer within ${Math.round(bound.timeoutMs / 1000)} s from ${endpointUrl ?? `CloudFormation in ${bound.region}`}. Check the network (and --region), then run drift again.`,
      );
    }
    const name = awsErrorName(err);
    const message = firstLine(awsErrorMessage(err));
    if (operation === 'DetectStackDrift' && name === 'ValidationError') throw new RefusedError(message);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (/Deserialization error|parse error|not implemented/i.test(message) || (endpointUrl && status !== undefined && status >= 500)) {
      if (endpointUrl) throw notImplemented(operation, stack, endpointUrl, status);
      throw new UserError(
        `${operation} (stack ${stack}) got no AWS answer from the endpoint${status ? ` (HTTP ${status})` : ''}. Try again; if it persists, check the AWS Health Dashboard for CloudFormation in this region.`,
      );
    }
    throw new UserError(`${operation} (stack ${stack}) failed: ${name ? `${name}: ` : ''}${message}`);
  }
}

function notImplemented(operation: string, stack: string, endpointUrl: string, status?: number): UserError {
  return new UserError(
    `${operation} (stack ${stack}) got no AWS answer from ${endpointUrl}${status ? ` (HTTP ${status})` : ''}. ` +
      'The emulator at --endpoint-url probably does not implement CloudFormation drift detection (moto does not); run drift against AWS.',
  );
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
