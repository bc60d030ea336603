/**
 * Live progress: follows the events of the root stack and of every nested stack it reveals, one line
 * per resource transition with the elapsed time, until the root stack settles. Also picks the
 * root-cause events of a failure: the first `*_FAILED` reasons, nested stacks included, without the
 * echoes ("Resource creation cancelled", "Embedded stack ... was not successfully created").
 */
import { DescribeStackEventsCommand, DescribeStacksCommand, type CloudFormationClient, type Stack, type StackEvent } from '@aws-sdk/client-cloudformation';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

/** Follows the root and its nested stacks until the root's status settles. */
export async function followStack({ cfn, stack, since, print, pollMs = 5000 }: FollowProps): Promise<FollowResult> {
  const seen = new Set<string>();
  const all: StackEvent[] = [];
  const stacks = new Map<string, string>(); // stack ID -> path prefix ('' for the root)
  let rootId = stack;
  for (;;) {
    let current: Stack | undefined;
    try {
      current = (await cfn.send(new DescribeStacksCommand({ StackName: rootId }))).Stacks?.[0];
    } catch (err) {
      if (/does not exist/.test((err as Error).message ?? '')) current = undefined;
      else throw err;
    }
    if (current?.StackId && !stacks.has(current.StackId)) {
      rootId = current.StackId;
      stacks.set(rootId, '');
    }
    for (const [id] of [...stacks]) {
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
    const status = current?.StackStatus ?? 'DELETE_COMPLETE';
    if (isSettled(status)) return { stack: current, status, events: all };
    await sleep(pollMs);
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
