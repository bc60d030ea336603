/** `npm run diff`: the deploy preview from a change set that is deleted afterwards; nothing is changed. */
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { deleteChangeSet } from './change-set.js';
import { plan, type PlanProps } from './plan.js';
import type { Preview } from './preview.js';

export type DiffResult =
  | { readonly kind: 'no-changes'; readonly why: string }
  | { readonly kind: 'changes'; readonly preview: Preview; readonly newStack: boolean };

export async function diff(props: PlanProps): Promise<DiffResult> {
  const { cfn } = props.clients;
  const planned = await plan(props);
  if (planned.kind === 'no-op') return { kind: 'no-changes', why: planned.why };
  await deleteChangeSet(cfn, planned.changeSet);
  // A CREATE change set made an empty stack in REVIEW_IN_PROGRESS; a diff leaves nothing behind.
  if (planned.type === 'CREATE') await cfn.send(new DeleteStackCommand({ StackName: planned.changeSet.stackId }));
  if (planned.kind === 'empty') return { kind: 'no-changes', why: 'CloudFormation found no changes' };
  return { kind: 'changes', preview: planned.preview, newStack: planned.type === 'CREATE' };
}
