/**
 * The data gate: a change set that would remove or replace (Replacement True or Conditional) a
 * stateful resource is refused unless `--allow-replacement` names it. The refusal lists each
 * resource, its stack and why.
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { flattenTree, type StackChanges } from './change-set.js';
import { STATEFUL_TYPES } from './stateful.js';

export interface DataRisk {
  /** Stack path, `Root/Network`. */
  readonly stack: string;
  readonly logicalId: string;
  readonly resourceType: string;
  /** What the resource holds, "a subnet". */
  readonly kind: string;
  readonly action: 'remove' | 'replace' | 'maybe replace';
  readonly why: string;
}

/** Why a change replaces its resource: the properties that require recreation. */
export function replacementReason(change: ResourceChange): string {
  const causes = (change.Details ?? [])
    .filter((d) => d.Target?.RequiresRecreation === 'Always' || d.Target?.RequiresRecreation === 'Conditionally')
    .map((d) => {
      const what = d.Target?.Name ?? d.Target?.Attribute ?? 'a property';
      const when = d.Target?.RequiresRecreation === 'Always' ? 'requires replacement' : 'may require replacement';
      const source = d.CausingEntity ? ` (from ${d.CausingEntity})` : '';
      return `${what} ${when}${source}`;
    });
  return causes.length ? [...new Set(causes)].join('; ') : 'CloudFormation gave no property details';
}

/**
 * The stateful resources a change set would remove or replace. `stateful` gives, per stack path,
 * the stateful logical IDs and what they hold (from the templates); removed resources of an always
 * stateful type count even when the template no longer names them.
 */
export function findDataRisks(tree: StackChanges, stateful: (path: string) => ReadonlyMap<string, string>): DataRisk[] {
  const risks: DataRisk[] = [];
  for (const stack of flattenTree(tree)) {
    const known = stateful(stack.path);
    for (const change of stack.changes) {
      const id = change.LogicalResourceId ?? '?';
      const type = change.ResourceType ?? '?';
      const kind = known.get(id) ?? STATEFUL_TYPES[type];
      if (!kind) continue;
      const base = { stack: stack.path, logicalId: id, resourceType: type, kind };
      if (change.Action === 'Remove') {
        risks.push({ ...base, action: 'remove', why: 'it is no longer in the template' });
      } else if (change.Action === 'Modify' && change.Replacement === 'True') {
        risks.push({ ...base, action: 'replace', why: replacementReason(change) });
      } else if (change.Action === 'Modify' && change.Replacement === 'Conditional') {
        risks.push({ ...base, action: 'maybe replace', why: replacementReason(change) });
      }
    }
  }
  return risks;
}

/** A risk is allowed when `--allow-replacement` names its logical ID, or `Stack/LogicalId`. */
function allowed(risk: DataRisk, allow: readonly string[]): boolean {
  const nested = risk.stack.split('/').slice(1).join('/');
  return allow.includes(risk.logicalId) || (nested !== '' && allow.includes(`${nested}/${risk.logicalId}`));
}

/** Throws a UserError listing the risks not allowed; returns the allowed ones (to loosen stack policies). */
export function checkDataGate(risks: readonly DataRisk[], allow: readonly string[], changeSetName: string): DataRisk[] {
  const refused = risks.filter((r) => !allowed(r, allow));
  if (refused.length) {
    const lines = refused.map((r) => `  - ${r.stack}: ${r.logicalId} (${r.resourceType}, ${r.kind}) would be ${r.action === 'remove' ? 'removed' : r.action === 'replace' ? 'replaced' : 'possibly replaced'}: ${r.why}`);
    const names = [...new Set(refused.map((r) => r.logicalId))].join(' ');
    throw new UserError(
      `Refusing to execute change set ${changeSetName}: it would remove or replace stateful resources (data may be lost):\n` +
        `${lines.join('\n')}\n` +
        `If that is intended, run again with --allow-replacement ${names}. The change set was deleted; nothing was changed.`,
    );
  }
  return risks.filter((r) => allowed(r, allow));
}
