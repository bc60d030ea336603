/**
 * Change sets: create one (CREATE for a new stack or one in REVIEW_IN_PROGRESS, UPDATE otherwise,
 * nested stacks included, drift-aware on request), wait for it (bounded), read every page of it and of its
 * nested change sets (a nested stack whose change set is missing or unreadable is `opaque`: its changes are unknown), explain one that failed, delete it (with the empty stack a CREATE made), and find other
 * change sets in flight on the stack (another deploy at its prompt, one being computed or executed).
 *
 * Change sets are described with `IncludePropertyValues`, so that each property change carries its `Path`
 * (`/Properties/SecurityGroupIngress/3`) and its `BeforeValue`/`AfterValue`, which the drift preview needs to
 * say what a deploy would overwrite (API reference, DescribeChangeSet and ResourceTargetDefinition).
 * CloudFormation may leave resource changes out of such an answer, saying so only in `StatusReason`
 * ("[WARN] --include-property-values option can return incomplete ChangeSet data"); the change set is then
 * read again without values and what was left out is put back, so that the preview and the data gate never
 * miss a change (aws/aws-cdk-cli#1780, whose `ChangeSetDescriber` does the same).
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
  type ResourceChangeDetail,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { AwsCallError, awsErrorMessage, awsErrorName, isTransient } from './aws.js';
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
  /**
   * A drift-aware change set (`DeploymentMode: REVERT_DRIFT`, UPDATE only): CloudFormation compares the
   * template with the live resources, not only with the last template, and sets drifted properties back to
   * the template's values ("Using drift-aware change sets", CloudFormation User Guide, 2025; `DeploymentMode`
   * is in @aws-sdk/client-cloudformation 3.1169, the version the lockfile pins). @default false
   */
  readonly revertDrift?: boolean;
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

/** What CloudFormation says when a change set would change nothing. */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

/**
 * Asks CloudFormation for the change set. With `revertDrift`, a ValidationError (CloudFormation refusing the
 * drift-aware mode for this stack) becomes a UserError that says nothing was changed and what to do instead.
 */
export async function createChangeSet(cfn: CloudFormationClient, props: ChangeSetProps): Promise<ChangeSetRef> {
  const name = changeSetName();
  const revertDrift = props.revertDrift === true && props.type === 'UPDATE';
  let out;
  try {
    out = await cfn.send(
      new CreateChangeSetCommand({
        StackName: props.stackName,
        ChangeSetName: name,
        ChangeSetType: props.type,
        ...(props.templateUrl ? { TemplateURL: props.templateUrl } : { TemplateBody: props.templateBody }),
        Parameters: [...props.parameters],
        Capabilities: [...props.capabilities] as never,
        IncludeNestedStacks: true,
        ...(revertDrift ? { DeploymentMode: 'REVERT_DRIFT' as const } : {}),
        ...(props.tags ? { Tags: [...props.tags] } : {}),
        Description: DESCRIPTIONS[props.purpose],
      }),
    );
  } catch (err) {
    if (revertDrift && awsErrorName(err) === 'ValidationError' && NO_CHANGES.test(awsErrorMessage(err))) {
      // AWS makes a change set and fails it when there is nothing to do; refusing the request itself is what a
      // template-only comparison does (moto's), which never looked at the live resources.
      throw new UserError(
        `The endpoint answered the drift-aware change set (--revert-drift) for stack ${props.stackName} with "${awsErrorMessage(err).split('\n')[0]}" ` +
          'without making a change set, so it compared the templates only and could not say whether there is drift to revert ' +
          '(a local emulator such as moto does not support drift-aware change sets). Nothing was created or changed.',
      );
    }
    if (revertDrift && awsErrorName(err) === 'ValidationError') {
      throw new UserError(
        `CloudFormation refused a drift-aware change set (--revert-drift) for stack ${props.stackName}: ${awsErrorMessage(err).split('\n')[0]}\n` +
          'Nothing was created or changed. Deploy without --revert-drift (its preview says which drift it would overwrite and which it keeps), ' +
          "or undo the drift where it was made ('npm run drift' lists it).",
      );
    }
    throw err;
  }
  return { id: out.Id ?? name, name, stackId: out.StackId ?? props.stackName };
}

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
    const out = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: ref.stackId, IncludePropertyValues: true }));
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
  /** `REVERT_DRIFT` for a drift-aware change set; absent for a normal one (and from an emulator that ignores the mode). */
  readonly deploymentMode?: string;
  /** Changes to this stack's own resources, nested stacks included as resources. */
  readonly changes: readonly ResourceChange[];
  readonly children: readonly StackChanges[];
  /** Nested stacks whose change set CloudFormation named but could not be read, by logical ID, with why. */
  readonly unreadable?: Readonly<Record<string, string>>;
}

/**
 * A nested stack the change set adds, updates or removes without a change set of its own that was read: what it does
 * inside that stack is unknown. CloudFormation makes one for each nested stack it creates or updates when asked with
 * IncludeNestedStacks (its ResourceChange carries the nested `ChangeSetId`); none for a nested stack it deletes, and an
 * emulator may make none at all (plain moto does not; the tests' launcher, test/moto-server.py, adds them: its gap 26).
 */
export interface OpaqueStack {
  /** The nested stack's path, `Root/Network`. */
  readonly path: string;
  /** The stack whose change set names it, `Root`. */
  readonly parent: string;
  /** The parent's change to it (Action Add, Modify, Remove or Dynamic). */
  readonly change: ResourceChange;
  /** Why its changes are unknown, to follow "what it changes is unknown: ". */
  readonly why: string;
}

const NESTED_STACK = 'AWS::CloudFormation::Stack';

/**
 * True for AWS refusing to describe a change set (access denied, not found, a validation error): its changes are then
 * unknown. Credentials, network, throttling and server problems stop the run instead, as any other call's do.
 */
function refusedByAws(err: unknown): boolean {
  if (err instanceof AwsCallError) return err.problem === 'access';
  return !(err instanceof UserError) && typeof err === 'object' && err !== null && '$metadata' in err && !isTransient(err);
}

/** The nested stacks of the tree whose changes are unknown (see OpaqueStack), parents first. */
export function opaqueStacks(tree: StackChanges): OpaqueStack[] {
  return flattenTree(tree).flatMap((stack) =>
    stack.changes
      .filter((c) => c.ResourceType === NESTED_STACK && !stack.children.some((child) => child.logicalId === c.LogicalResourceId))
      .map((change) => {
        const id = change.LogicalResourceId ?? '?';
        const why =
          stack.unreadable?.[id] ??
          (change.Action === 'Remove' ? 'the stack is deleted with every resource in it, and CloudFormation makes no change set for that' : 'CloudFormation gave no change set for it');
        return { path: `${stack.path}/${id}`, parent: stack.path, change, why };
      }),
  );
}

/** What CloudFormation puts in StatusReason when it left changes out of an answer with property values. */
const INCOMPLETE_VALUES = '--include-property-values option can return incomplete ChangeSet data';

interface ChangeSetPages {
  readonly changes: ResourceChange[];
  readonly stackId?: string;
  readonly deploymentMode?: string;
  readonly statusReason?: string;
}

/** Every page of one change set, with or without property values. */
async function readPages(cfn: CloudFormationClient, changeSetId: string, values: boolean, first?: DescribeChangeSetCommandOutput): Promise<ChangeSetPages> {
  const changes: ResourceChange[] = [];
  // A nested change set is named by its ARN alone; the stack is part of the ARN.
  let page = first ?? (await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSetId, IncludePropertyValues: values })));
  const { DeploymentMode: deploymentMode, StatusReason: statusReason } = page;
  let stackId = page.StackId;
  for (;;) {
    for (const change of page.Changes ?? []) if (change.ResourceChange) changes.push(change.ResourceChange);
    if (!page.NextToken) break;
    page = await cfn.send(
      new DescribeChangeSetCommand({ ChangeSetName: changeSetId, ...(page.StackId ? { StackName: page.StackId } : {}), NextToken: page.NextToken, IncludePropertyValues: values }),
    );
    stackId ??= page.StackId;
  }
  return { changes, ...(stackId ? { stackId } : {}), ...(deploymentMode ? { deploymentMode } : {}), ...(statusReason ? { statusReason } : {}) };
}

/** Two details that describe the same property change (values and paths aside, which only the detailed answer has). */
function sameDetail(a: ResourceChangeDetail, b: ResourceChangeDetail): boolean {
  return a.Target?.Attribute === b.Target?.Attribute && a.Target?.Name === b.Target?.Name && a.ChangeSource === b.ChangeSource && a.CausingEntity === b.CausingEntity;
}

/** The detailed changes, with every change and detail only the plain answer has put back. */
function restoreLeftOut(detailed: readonly ResourceChange[], plain: readonly ResourceChange[]): ResourceChange[] {
  const merged = detailed.map((c) => ({ ...c }));
  for (const change of plain) {
    const same = merged.find((c) => c.LogicalResourceId === change.LogicalResourceId);
    if (!same) {
      merged.push(change);
      continue;
    }
    const missing = (change.Details ?? []).filter((d) => !(same.Details ?? []).some((e) => sameDetail(d, e)));
    if (missing.length) same.Details = [...(same.Details ?? []), ...missing];
  }
  return merged;
}

/**
 * Reads every page of a change set and, recursively, of the change sets of its nested stacks, with property
 * values; a change set CloudFormation described incompletely is read again without them and merged.
 */
export async function readChangeSetTree(
  cfn: CloudFormationClient,
  changeSetId: string,
  path: string,
  logicalId = path,
  first?: DescribeChangeSetCommandOutput,
): Promise<StackChanges> {
  const read = await readPages(cfn, changeSetId, true, first);
  const changes = read.statusReason?.includes(INCOMPLETE_VALUES) ? restoreLeftOut(read.changes, (await readPages(cfn, changeSetId, false)).changes) : read.changes;
  const children: StackChanges[] = [];
  const unreadable: Record<string, string> = {};
  for (const change of changes) {
    if (change.ResourceType === NESTED_STACK && change.ChangeSetId) {
      const id = change.LogicalResourceId ?? '?';
      try {
        children.push(await readChangeSetTree(cfn, change.ChangeSetId, `${path}/${id}`, id));
      } catch (err) {
        // Its changes are then unknown (opaqueStacks): the preview says so and the data gate refuses it.
        if (!refusedByAws(err)) throw err;
        unreadable[id] = `reading its change set ${change.ChangeSetId} failed: ${awsErrorMessage(err).split('\n')[0]}`;
      }
    }
  }
  return {
    path,
    logicalId,
    changeSetId,
    ...(read.stackId ? { stackId: read.stackId } : {}),
    ...(read.deploymentMode ? { deploymentMode: read.deploymentMode } : {}),
    changes,
    children,
    ...(Object.keys(unreadable).length ? { unreadable } : {}),
  };
}

export async function deleteChangeSet(cfn: CloudFormationClient, ref: ChangeSetRef): Promise<void> {
  await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: ref.id, StackName: ref.stackId }));
}

/** Every stack in the tree, parents first. */
export function flattenTree(tree: StackChanges): StackChanges[] {
  return [tree, ...tree.children.flatMap(flattenTree)];
}
