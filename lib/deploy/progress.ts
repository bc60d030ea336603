/**
 * Live progress: follows the events of the root stack and of every nested stack it reveals (also one that
 * failed and was deleted between two polls, read by its ARN), one line per resource transition with the elapsed time, until the root stack settles. Also picks the
 * root-cause events of a failure: the first `*_FAILED` reasons, nested stacks included, without the
 * echoes ("Resource creation cancelled", "Embedded stack ... was not successfully created").
 *
 * Losing the event stream is not a failed operation: when the calls fail for a passing reason (throttling
 * that outlasted the SDK's retries, a broken connection, a server error), the follow says so and re-reads the
 * stack's status with backoff until it settles. When they fail for good (expired credentials, access denied)
 * or the follow outlasts its bound, it throws a UserError saying that CloudFormation keeps going and how to
 * resume (`resumeHint`).
 */
import { DescribeStackEventsCommand, DescribeStacksCommand, type CloudFormationClient, type Stack, type StackEvent } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { InterruptedError, sleep } from '../interrupt.js';
import { asAwsCallError, isTransient } from './aws.js';

export { sleep };

/** A status that will not change by itself. */
export function isSettled(status: string | undefined): boolean {
  return status !== undefined && !status.endsWith('_IN_PROGRESS');
}

export function isFailure(status: string | undefined): boolean {
  return status !== undefined && /(FAILED|ROLLBACK_COMPLETE)$/.test(status);
}

export interface FollowProps {
  readonly cfn: CloudFormationClient;
  /** Stack name or ID of the root. */
  readonly stack: string;
  /** Events before this moment are history, not shown. */
  readonly since: Date;
  readonly print: (line: string) => void;
  /** @default 5000 */
  readonly pollMs?: number;
  /** How long to follow before giving up (CloudFormation keeps going). @default 4 hours */
  readonly timeoutMs?: number;
  /** Longest pause between status reads while the event stream is lost. @default 60000 */
  readonly maxBackoffMs?: number;
  /** What the user can run to pick the operation up again, for the messages that give up. */
  readonly resumeHint?: string;
}

export interface FollowResult {
  /** The root stack as it settled, or undefined when it no longer exists (a finished delete). */
  readonly stack: Stack | undefined;
  readonly status: string;
  /** Every event seen, oldest first. */
  readonly events: readonly StackEvent[];
}

/** `Network/Vpc` for a resource of a nested stack, `Vpc` for one of the root. */
function label(event: StackEvent, names: ReadonlyMap<string, string>): string {
  const prefix = names.get(event.StackId ?? '');
  if (prefix && event.PhysicalResourceId === event.StackId) return prefix;
  return prefix ? `${prefix}/${event.LogicalResourceId}` : (event.LogicalResourceId ?? '?');
}

export function formatEvent(event: StackEvent, since: Date, names: ReadonlyMap<string, string> = new Map()): string {
  const elapsed = Math.max(0, Math.round(((event.Timestamp?.getTime() ?? since.getTime()) - since.getTime()) / 1000));
  const clock = `${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}`;
  const reason = event.ResourceStatusReason && event.ResourceStatusReason !== 'User Initiated' ? `  ${event.ResourceStatusReason}` : '';
  return `  ${clock}  ${(event.ResourceStatus ?? '').padEnd(28)} ${label(event, names).padEnd(36)} ${event.ResourceType ?? ''}${reason}`;
}

/** New events of one stack (pages newest first, stopping at what was already seen or is older than `since`). */
async function newEvents(cfn: CloudFormationClient, stackId: string, since: Date, seen: Set<string>): Promise<StackEvent[]> {
  const fresh: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token }));
    token = page.NextToken;
    for (const event of page.StackEvents ?? []) {
      if (seen.has(event.EventId ?? '') || (event.Timestamp && event.Timestamp < since)) {
        token = undefined;
        break;
      }
      fresh.push(event);
    }
  } while (token);
  for (const event of fresh) seen.add(event.EventId ?? '');
  return fresh.reverse();
}

/** `90 s`, `12 min`, `4 h`. */
export function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** The first stack in `stacks` not yet in `read` (the map keeps the order stacks were found in). */
function unread(stacks: ReadonlyMap<string, string>, read: ReadonlySet<string>): string | undefined {
  for (const id of stacks.keys()) if (!read.has(id)) return id;
  return undefined;
}

/** Follows the root and its nested stacks until the root's status settles. */
export async function followStack({ cfn, stack, since, print, pollMs = 5000, timeoutMs = 4 * 3_600_000, maxBackoffMs = 60_000, resumeHint }: FollowProps): Promise<FollowResult> {
  const seen = new Set<string>();
  const all: StackEvent[] = [];
  const stacks = new Map<string, string>(); // stack ID -> path prefix ('' for the root)
  const deadline = Date.now() + timeoutMs;
  const resume = resumeHint ?? 'Run the command again to pick it up.';
  let rootId = stack;
  let lastStatus = 'unknown';
  let backoff = 0; // > 0 while the event stream is lost
  const lost = (err: unknown, what: string) => {
    if (backoff === 0) print(`  (${what} unavailable: ${firstLine(err)}; following the stack's status instead, with backoff)`);
    backoff = Math.min(maxBackoffMs, backoff ? backoff * 2 : Math.min(pollMs, 1000));
  };
  const giveUp = (err: unknown): never => {
    throw new UserError(
      `Lost track of stack ${stack} (last seen ${lastStatus}): ${firstLine(err)}\n` +
        `CloudFormation keeps going on its own; nothing was cancelled. ${resume}`,
    );
  };
  for (;;) {
    let current: Stack | undefined;
    try {
      current = (await cfn.send(new DescribeStacksCommand({ StackName: rootId }))).Stacks?.[0];
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      if (/does not exist/.test((err as Error).message ?? '') && !asAwsCallError(err)) current = undefined;
      else if (isTransient(err)) {
        lost(asAwsCallError(err), "the stack's status");
        if (Date.now() > deadline) giveUp(asAwsCallError(err));
        await sleep(backoff);
        continue;
      } else if (asAwsCallError(err)) giveUp(asAwsCallError(err));
      else throw err;
    }
    lastStatus = current?.StackStatus ?? 'DELETE_COMPLETE';
    if (current?.StackId && !stacks.has(current.StackId)) {
      rootId = current.StackId;
      stacks.set(rootId, '');
    }
    try {
      // Every known stack, then the nested stacks this round revealed, until none is new: a nested stack that
      // failed, rolled back and was deleted between two polls (a fast first create) is still read, by its ARN
      // (DescribeStackEvents answers for a deleted stack's ID), recursively, before a settled root ends the follow.
      const read = new Set<string>();
      for (let id = unread(stacks, read); id !== undefined; id = unread(stacks, read)) {
        read.add(id);
        for (const event of await newEvents(cfn, id, since, seen)) {
          all.push(event);
          print(formatEvent(event, since, stacks));
          const child = event.PhysicalResourceId;
          if (event.ResourceType === 'AWS::CloudFormation::Stack' && child?.startsWith('arn:') && child !== id && !stacks.has(child)) {
            const parent = stacks.get(id);
            stacks.set(child, parent ? `${parent}/${event.LogicalResourceId}` : (event.LogicalResourceId ?? child));
          }
        }
      }
      if (backoff > 0) print('  (events available again)');
      backoff = 0;
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      if (isTransient(err)) lost(asAwsCallError(err), 'events');
      else if (asAwsCallError(err)) giveUp(asAwsCallError(err));
      else throw err;
    }
    if (isSettled(lastStatus)) return { stack: current, status: lastStatus, events: all };
    if (Date.now() > deadline) {
      throw new UserError(`Stack ${stack} is still ${lastStatus} after ${duration(timeoutMs)} of following. CloudFormation keeps going on its own; nothing was cancelled. ${resume}`);
    }
    await sleep(backoff || pollMs);
  }
}

/** Echoes of a failure elsewhere, not its cause. */
const ECHO = /Resource creation cancelled|Resource update cancelled|Embedded stack .* was not successfully|The following resource\(s\) failed/i;

/** One reason a deploy failed, as the last screen shows it. */
export interface RootCause {
  /** Stack name the resource belongs to. */
  readonly stack: string;
  readonly logicalId: string;
  readonly resourceType?: string;
  readonly status: string;
  readonly reason: string;
}

/** The first failures with their reasons, nested stacks included; echoes only when nothing else failed. */
export function rootCauses(events: readonly StackEvent[], limit = 5): RootCause[] {
  const failed = events.filter((e) => e.ResourceStatus?.endsWith('_FAILED'));
  const causes = failed.filter((e) => !ECHO.test(e.ResourceStatusReason ?? ''));
  return [...(causes.length ? causes : failed)]
    .sort((a, b) => (a.Timestamp?.getTime() ?? 0) - (b.Timestamp?.getTime() ?? 0))
    .slice(0, limit)
    .map((e) => ({
      stack: e.StackName ?? '?',
      logicalId: e.LogicalResourceId ?? '?',
      ...(e.ResourceType ? { resourceType: e.ResourceType } : {}),
      status: e.ResourceStatus ?? '?',
      reason: e.ResourceStatusReason ?? 'no reason given',
    }));
}

export function formatRootCause(cause: RootCause): string {
  return `  - ${cause.logicalId}${cause.resourceType ? ` (${cause.resourceType})` : ''} in stack ${cause.stack}: ${cause.status}: ${cause.reason}`;
}
