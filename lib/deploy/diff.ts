/**
 * `npm run diff`: the deploy preview from a change set that is deleted afterwards (with the empty stack a
 * CREATE made), with what the deploy would do to each drifted property; nothing is changed, and an interrupt
 * or a failed change set leaves nothing behind either.
 */
import type { DriftPreview } from './drift-preview.js';
import { plan, type PlanProps } from './plan.js';
import type { Preview } from './preview.js';

export type DiffResult =
  /** `drift` is absent when nothing was checked (the root template, parameters and tags are what is deployed). */
  | { readonly kind: 'no-changes'; readonly why: string; readonly drift?: DriftPreview }
  | { readonly kind: 'changes'; readonly preview: Preview; readonly drift: DriftPreview; readonly newStack: boolean };

export async function diff(props: PlanProps): Promise<DiffResult> {
  const planned = await plan(props, 'diff');
  if (planned.kind === 'no-op') return { kind: 'no-changes', why: planned.why };
  await planned.discard();
  if (planned.kind === 'empty') {
    return { kind: 'no-changes', why: props.revertDrift ? 'CloudFormation found nothing to change and no drift to revert' : 'CloudFormation found no changes', drift: planned.drift };
  }
  return { kind: 'changes', preview: planned.preview, drift: planned.drift, newStack: planned.type === 'CREATE' };
}
