/**
 * Change sets: create one (CREATE for a new stack or one in REVIEW_IN_PROGRESS, UPDATE otherwise,
 * nested stacks included), wait for it, read every page of it and of its nested change sets, delete it.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  type CloudFormationClient,
  type DescribeChangeSetCommandOutput,
  type Parameter,
  type ResourceChange,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { sleep } from './progress.js';

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
}

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
      Description: 'Created by npm run deploy (dcos-cfn)',
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
}

/** Waits until the change set is computed. A change set with no changes is `empty`; any other failure throws. */
export async function waitForChangeSet(cfn: CloudFormationClient, ref: ChangeSetRef, { pollMs = 2000 }: PollProps = {}): Promise<ChangeSetReady> {
  const id = ref.id;
  for (;;) {
    const out = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: ref.stackId }));
    if (out.Status === 'CREATE_COMPLETE') return { kind: 'ready', first: out };
    if (out.Status === 'FAILED') {
      if (NO_CHANGES.test(out.StatusReason ?? '')) return { kind: 'empty' };
      throw new ChangeSetFailedError(out.ChangeSetName ?? id, out.StatusReason ?? 'no reason given');
    }
    await sleep(pollMs);
  }
}

export class ChangeSetFailedError extends Error {
  constructor(
    readonly changeSetName: string,
    readonly reason: string,
  ) {
    super(`Change set ${changeSetName} failed: ${reason}`);
    this.name = 'ChangeSetFailedError';
  }
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
