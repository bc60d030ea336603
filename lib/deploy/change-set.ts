/**
 * Change sets: create one (CREATE for a new stack or one in REVIEW_IN_PROGRESS, UPDATE otherwise,
 * nested stacks included), wait for it (bounded), read every page of it and of its nested change sets,
 * explain one that failed, delete it (with the empty stack a CREATE made), and find other change sets in
 * flight on the stack (another deploy at its prompt, one being computed or executed).
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  ListChangeSetsCommand,
  type ChangeSetSummary,
  type CloudFormationClient,
  type DescribeChangeSetCommandOutput,
  type Parameter,
  type ResourceChange,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { duration, sleep } from './progress.js';

export type ChangeSetType = 'CREATE' | 'UPDATE';

export interface ChangeSetProps {
  readonly stackName: string;
  readonly type: ChangeSetType;
  /** Root template body (up to 51,200 bytes) ... */
  readonly templateBody?: string;
  /** ... or its S3 URL. */
  readonly templateUrl?: string;
  readonly parameters: readonly Parameter[];
  readonly capabilities: readonly string[];
  /** Omitted on an update: the stack keeps its tags. */
  readonly tags?: readonly Tag[];
  /** What the change set is for, shown in the console and read by `inFlightChangeSets`. */
  readonly purpose: ChangeSetPurpose;
}

/**
 * Why a change set exists. Its Description says so, so that another run can tell a change set a deploy is
 * about to execute (in flight) from one left for review.
 */
export type ChangeSetPurpose = 'deploy' | 'review' | 'diff';

const DESCRIPTIONS: Record<ChangeSetPurpose, string> = {
  deploy: 'dcos-cfn deploy in progress: shown, gated and executed (or deleted) by the deploy that created it',
  review: 'dcos-cfn deploy --no-execute: left for review',
  diff: 'dcos-cfn diff in progress: deleted after the preview',
};

export interface ChangeSetRef {
  readonly id: string;
  readonly name: string;
  readonly stackId: string;
}

/** A change set name that sorts by time and says who made it. */
export function changeSetName(now = new Date()): string {
  return `dcos-cfn-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-')}`;
}

export async function createChangeSet(cfn: CloudFormationClient, props: ChangeSetProps): Promise<ChangeSetRef> {
  const name = changeSetName();
  const out = await cfn.send(
    new CreateChangeSetCommand({
      StackName: props.stackName,
      ChangeSetName: name,
      ChangeSetType: props.type,
      ...(props.templateUrl ? { TemplateURL: props.templateUrl } : { TemplateBody: props.templateBody }),
      Parameters: [...props.parameters],
      Capabilities: [...props.capabilities] as never,
      IncludeNestedStacks: true,
      ...(props.tags ? { Tags: [...props.tags] } : {}),
      Description: DESCRIPTIONS[props.purpose],
    }),
  );
  return { id: out.Id ?? name, name, stackId: out.StackId ?? props.stackName };
}

/** What CloudFormation says when a change set would change nothing. */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

export type ChangeSetReady =
  | { readonly kind: 'ready'; readonly first: DescribeChangeSetCommandOutput }
  | { readonly kind: 'empty' };

export interface PollProps {
  /** Milliseconds between polls. @default 2000 */
  readonly pollMs?: number;
  /** How long CloudFormation may take to compute the change set. @default 15 minutes */
  readonly timeoutMs?: number;
}

/**
 * Waits until the change set is computed. A change set with no changes is `empty`; one that failed throws a
 * ChangeSetFailedError (explain it with `explainFailedChangeSet`); one still computing after `timeoutMs`, or an
 * answer without a status, throws a UserError.
 */
export async function waitForChangeSet(cfn: CloudFormationClient, ref: ChangeSetRef, { pollMs = 2000, timeoutMs = 15 * 60_000 }: PollProps = {}): Promise<ChangeSetReady> {
  const id = ref.id;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: ref.stackId }));
    if (out.Status === 'CREATE_COMPLETE') return { kind: 'ready', first: out };
    if (out.Status === 'FAILED') {
      if (NO_CHANGES.test(out.StatusReason ?? '')) return { kind: 'empty' };
      throw new ChangeSetFailedError(ref, out);
    }
    if (out.Status === undefined) throw new UserError(`DescribeChangeSet answered without a status for change set ${ref.name}: not an AWS API answer. Check --endpoint-url or the network, and run again.`);
    if (Date.now() > deadline) {
      throw new UserError(`CloudFormation did not finish computing change set ${ref.name} in ${duration(timeoutMs)} (still ${out.Status}). Run again later; if it keeps happening, look at the change set in the console.`);
    }
    await sleep(pollMs);
  }
}

export class ChangeSetFailedError extends Error {
  constructor(
    readonly ref: ChangeSetRef,
    readonly described: DescribeChangeSetCommandOutput,
  ) {
    super(`Change set ${ref.name} failed: ${described.StatusReason ?? 'no reason given'}`);
    this.name = 'ChangeSetFailedError';
  }
}

/** Deletes a change set this run created; `stackToo` when the run also created its (empty) stack. Returns what it did. */
export async function discardChangeSet(cfn: CloudFormationClient, ref: ChangeSetRef, stackToo: boolean): Promise<string> {
  if (stackToo) {
    // Deleting the REVIEW_IN_PROGRESS stack deletes its change sets with it.
    await cfn.send(new DeleteStackCommand({ StackName: ref.stackId }));
    return `Deleted change set ${ref.name} and the empty stack (REVIEW_IN_PROGRESS) it created; nothing else was changed.`;
  }
  await deleteChangeSet(cfn, ref);
  return `Deleted change set ${ref.name}; the stack was not changed.`;
}

/** Change sets of a stack that someone is acting on right now (other than `except`). */
export async function inFlightChangeSets(cfn: CloudFormationClient, stack: string, except?: string): Promise<ChangeSetSummary[]> {
  const found: ChangeSetSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListChangeSetsCommand({ StackName: stack, NextToken: token }));
    for (const summary of page.Summaries ?? []) {
      if (summary.ChangeSetId === except || summary.ChangeSetName === except) continue;
      const computing = summary.Status === 'CREATE_PENDING' || summary.Status === 'CREATE_IN_PROGRESS';
      const executing = summary.ExecutionStatus === 'EXECUTE_IN_PROGRESS';
      const awaited = summary.Status === 'CREATE_COMPLETE' && summary.ExecutionStatus === 'AVAILABLE' && /^dcos-cfn (deploy|diff) in progress/.test(summary.Description ?? '');
      if (computing || executing || awaited) found.push(summary);
    }
    token = page.NextToken;
  } while (token);
  return found;
}

/** The refusal for change sets in flight, with how to clear a stale one. */
export function inFlightRefusal(stackName: string, found: readonly ChangeSetSummary[]): UserError {
  const lines = found.map((c) => {
    const what = c.ExecutionStatus === 'EXECUTE_IN_PROGRESS' ? 'being executed' : c.Status === 'CREATE_COMPLETE' ? 'waiting for another deploy (or diff) to execute or delete it' : `being computed (${c.Status})`;
    return `  - ${c.ChangeSetName} (created ${c.CreationTime?.toISOString() ?? 'at an unknown time'}), ${what}`;
  });
  return new UserError(
    `Stack ${stackName} has change sets in flight, so another deploy, diff or console user is working on it:\n${lines.join('\n')}\n` +
      `Wait for it to finish and run again. If no one is (a deploy that was killed), delete the change set: ` +
      `aws cloudformation delete-change-set --stack-name ${stackName} --change-set-name ${found[0]?.ChangeSetName ?? 'NAME'}`,
  );
}

/** The changes to one stack: the root, or a nested stack reached through its parent's change set. */
export interface StackChanges {
  /** `Root`, `Root/Network`, ... */
  readonly path: string;
  /** Logical ID in the parent, or the stack name for the root. */
  readonly logicalId: string;
  readonly changeSetId: string;
  readonly stackId?: string;
  /** Changes to this stack's own resources, nested stacks included as resources. */
  readonly changes: readonly ResourceChange[];
  readonly children: readonly StackChanges[];
}

/** Reads every page of a change set and, recursively, of the change sets of its nested stacks. */
export async function readChangeSetTree(
  cfn: CloudFormationClient,
  changeSetId: string,
  path: string,
  logicalId = path,
  first?: DescribeChangeSetCommandOutput,
): Promise<StackChanges> {
  const changes: ResourceChange[] = [];
  // A nested change set is named by its ARN alone; the stack is part of the ARN.
  let page = first ?? (await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSetId })));
  let stackId = page.StackId;
  for (;;) {
    for (const change of page.Changes ?? []) if (change.ResourceChange) changes.push(change.ResourceChange);
    if (!page.NextToken) break;
    page = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSetId, ...(page.StackId ? { StackName: page.StackId } : {}), NextToken: page.NextToken }));
    stackId ??= page.StackId;
  }
  const children: StackChanges[] = [];
  for (const change of changes) {
    if (change.ResourceType === 'AWS::CloudFormation::Stack' && change.ChangeSetId) {
      const id = change.LogicalResourceId ?? '?';
      children.push(await readChangeSetTree(cfn, change.ChangeSetId, `${path}/${id}`, id));
    }
  }
  return { path, logicalId, changeSetId, ...(stackId ? { stackId } : {}), changes, children };
}

export async function deleteChangeSet(cfn: CloudFormationClient, ref: ChangeSetRef): Promise<void> {
  await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: ref.id, StackName: ref.stackId }));
}

/** Every stack in the tree, parents first. */
export function flattenTree(tree: StackChanges): StackChanges[] {
  return [tree, ...tree.children.flatMap(flattenTree)];
}
