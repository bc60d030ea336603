/**
 * `npm run diff`: the deploy preview from a change set that is deleted afterwards (with the empty stack a
 * CREATE made); nothing is changed, and an interrupt or a failed change set leaves nothing behind either.
 */
import { plan, type PlanProps } from './plan.js';
import type { Preview } from './preview.js';

export type DiffResult =
  | { readonly kind: 'no-changes'; readonly why: string }
  | { readonly kind: 'changes'; readonly preview: Preview; readonly newStack: boolean };

export async function diff(props: PlanProps): Promise<DiffResult> {
  const planned = await plan(props, 'diff');
  if (planned.kind === 'no-op') return { kind: 'no-changes', why: planned.why };
  await planned.discard();
  if (planned.kind === 'empty') return { kind: 'no-changes', why: 'CloudFormation found no changes' };
  return { kind: 'changes', preview: planned.preview, newStack: planned.type === 'CREATE' };
}
