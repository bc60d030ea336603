/**
 * The data gate: a change set that would remove or replace (Replacement True or Conditional) a
 * stateful resource is refused unless `--allow-replacement` names it. The refusal lists each
 * resource, its stack and why.
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { nearest } from '../suggest.js';
import { flattenTree, type StackChanges } from './change-set.js';
import { STATEFUL_TYPES, statefulResources } from './stateful.js';
import type { TemplateSet } from './templates.js';

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
        `If that is intended, run again with --allow-replacement ${names}.`,
    );
  }
  return risks.filter((r) => allowed(r, allow));
}

/**
 * Refuses `--allow-replacement` names that match no resource: a typo must not pass silently (and leave the
 * resource it meant protected, or worse, look like permission was given). A name is known when it is a
 * logical ID in the local templates or in the change set (a removed resource is only there), bare or as
 * `Nested/LogicalId`. The refusal lists the nearest real IDs, stateful ones first.
 */
export function checkAllowedNames(allow: readonly string[], templates: TemplateSet, tree: StackChanges): void {
  const known = new Set<string>();
  const stateful = new Set<string>();
  const add = (nested: string, id: string, isStateful: boolean) => {
    for (const name of nested ? [id, `${nested}/${id}`] : [id]) {
      known.add(name);
      if (isStateful) stateful.add(name);
    }
  };
  const rootStateful = statefulResources(templates.root.template);
  for (const id of Object.keys(templates.root.template.Resources ?? {})) add('', id, rootStateful.has(id));
  for (const [nested, t] of Object.entries(templates.nested)) {
    const found = statefulResources(t.template);
    for (const id of Object.keys(t.template.Resources ?? {})) add(nested, id, found.has(id));
  }
  for (const stack of flattenTree(tree)) {
    const nested = stack.path.split('/').slice(1).join('/');
    for (const change of stack.changes) if (change.LogicalResourceId) add(nested, change.LogicalResourceId, STATEFUL_TYPES[change.ResourceType ?? ''] !== undefined);
  }
  const unknown = allow.filter((name) => !known.has(name));
  if (unknown.length === 0) return;
  const lines = unknown.map((name) => {
    const near = [...nearest(name, stateful), ...nearest(name, known)].filter((n, i, all) => all.indexOf(n) === i).slice(0, 3);
    return `  - ${name}: no such resource${near.length ? `; did you mean ${near.join(', ')}?` : ''}`;
  });
  throw new UserError(
    `--allow-replacement names resources that are in neither the templates nor the change set:\n${lines.join('\n')}\n` +
      `Use the logical ID as the refusal of the data gate prints it (ID, or Nested/ID).`,
    2,
  );
}
