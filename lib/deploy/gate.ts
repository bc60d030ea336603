/**
 * The data gate: a change set that would remove or replace (Replacement True or Conditional, or no Replacement value at all, or an
 * action CloudFormation cannot determine yet) a stateful resource, or stop and start a master (a property
 * that needs it, by the instance's resource schema: lib/deploy/instance-updates.ts), is refused unless
 * `--allow-replacement` names it. The refusal lists each resource, its stack and why. A change set that
 * would touch more than one master that way is refused even then: DC/OS keeps its ZooKeeper quorum only
 * while masters go one at a time. It reads the change set only, so it applies alike to a normal and to a
 * drift-aware (`--revert-drift`) change set.
 *
 * A nested stack the change set updates or deletes without a change set of its own to read (OpaqueStack,
 * lib/deploy/change-set.ts: none was given, or reading it failed) may remove or replace anything in it, so it is
 * refused too, by the nested stack's logical ID, until `--allow-replacement` names that stack. Allowing it loosens no
 * stack policy: the policies still deny replacing or deleting the stateful resources inside. A nested stack it
 * creates holds no data yet and is let through.
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { nearest } from '../suggest.js';
import { flattenTree, opaqueStacks, type StackChanges } from './change-set.js';
import { INSTANCE_INTERRUPTION_PROPERTIES } from './instance-updates.js';
import { MASTER_KIND, STATEFUL_TYPES, statefulResources } from './stateful.js';
import type { TemplateSet } from './templates.js';

export interface DataRisk {
  /** Stack path, `Root/Network`. */
  readonly stack: string;
  readonly logicalId: string;
  readonly resourceType: string;
  /** What the resource holds, "a subnet". */
  readonly kind: string;
  /** `unknown`: a nested stack updated without a change set to read, which may remove or replace anything in it. */
  readonly action: 'remove' | 'replace' | 'maybe replace' | 'interrupt' | 'unknown';
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
 * Why a change to a master stops and starts it: the properties it changes that need a stop and start, or, when the
 * change set names none (an answer without Details), that it may. Undefined when it updates in place.
 */
export function interruptionReason(change: ResourceChange): string | undefined {
  const details = change.Details ?? [];
  if (details.length === 0) return 'CloudFormation gave no property details, so the update may stop and start it';
  const causes = details
    .filter((d) => d.Target?.Attribute === 'Properties' && INSTANCE_INTERRUPTION_PROPERTIES.includes(d.Target.Name ?? ''))
    .map((d) => `${d.Target!.Name} changes${d.CausingEntity ? ` (from ${d.CausingEntity})` : ''}, which stops and starts the instance`);
  return causes.length ? [...new Set(causes)].join('; ') : undefined;
}

/**
 * The stateful resources a change set would remove or replace, and the masters it would stop and start. `stateful` gives, per stack path,
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
      } else if (change.Action === 'Modify' && change.Replacement === undefined) {
        // CloudFormation gives every Modify a Replacement value (API reference, ResourceChange); without one (an
        // emulator's change set, an answer cut short), a replacement is not ruled out.
        risks.push({ ...base, action: 'maybe replace', why: 'CloudFormation gave no Replacement value for this update, so it may replace it' });
      } else if (change.Action === 'Dynamic') {
        // "The exact action for the resource can't be determined" (API reference, ResourceChange): unknown is not safe.
        risks.push({ ...base, action: 'maybe replace', why: 'CloudFormation cannot tell yet what it will do to it (action Dynamic)' });
      } else if (change.Action === 'Modify' && kind === MASTER_KIND && type === 'AWS::EC2::Instance') {
        const why = interruptionReason(change);
        if (why) risks.push({ ...base, action: 'interrupt', why });
      }
    }
  }
  for (const opaque of opaqueStacks(tree)) {
    if (opaque.change.Action === 'Add') continue;
    const base = { stack: opaque.parent, logicalId: opaque.change.LogicalResourceId ?? '?', resourceType: opaque.change.ResourceType ?? '?', kind: NESTED_STACK_KIND };
    risks.push(opaque.change.Action === 'Remove' ? { ...base, action: 'remove', why: opaque.why } : { ...base, action: 'unknown', why: `what it changes is unknown: ${opaque.why}` });
  }
  return risks;
}

/** What a nested stack holds, as the gate names it. */
const NESTED_STACK_KIND = 'a nested stack, with whatever stateful resources are in it';

/** A risk is allowed when `--allow-replacement` names its logical ID, or `Stack/LogicalId`. */
function allowed(risk: DataRisk, allow: readonly string[]): boolean {
  const nested = risk.stack.split('/').slice(1).join('/');
  return allow.includes(risk.logicalId) || (nested !== '' && allow.includes(`${nested}/${risk.logicalId}`));
}

const VERBS: Record<DataRisk['action'], string> = {
  remove: 'removed',
  replace: 'replaced',
  'maybe replace': 'possibly replaced',
  interrupt: 'stopped and started',
  unknown: 'updated, possibly removing or replacing what is in it',
};

const line = (r: DataRisk) => `  - ${r.stack}: ${r.logicalId} (${r.resourceType}, ${r.kind}) would be ${VERBS[r.action]}: ${r.why}`;

/**
 * Throws a UserError listing the risks not allowed, or when more than one master would be stopped, started, replaced
 * or removed (allowed or not). Returns the allowed removals and replacements, for which the stack policies are
 * loosened for one execution (a stop and start is an update the policies never deny).
 */
export function checkDataGate(risks: readonly DataRisk[], allow: readonly string[], changeSetName: string): DataRisk[] {
  const masters = risks.filter((r) => r.kind === MASTER_KIND);
  const touched = [...new Set(masters.map((r) => `${r.stack}/${r.logicalId}`))];
  if (touched.length > 1) {
    throw new UserError(
      `Refusing to execute change set ${changeSetName}: it would touch ${touched.length} masters at once, and DC/OS keeps its ZooKeeper quorum only while they go one at a time:\n` +
        `${masters.map(line).join('\n')}\n` +
        `Nothing was changed, and --allow-replacement cannot allow this. CloudFormation applies a template change to every master in one update: ` +
        `keep the change out of this deploy (revert it in the definition, or deploy the out/ you deployed before), ` +
        `or make it on each master by hand, one at a time, waiting for each to rejoin (README, "Updating").`,
    );
  }
  const refused = risks.filter((r) => !allowed(r, allow));
  if (refused.length) {
    const names = [...new Set(refused.map((r) => r.logicalId))].join(' ');
    const losing = refused.some((r) => r.action !== 'interrupt');
    const stopping = refused.some((r) => r.action === 'interrupt');
    const what = [losing ? 'remove or replace stateful resources (data may be lost)' : '', stopping ? 'stop and start a master (DC/OS loses it while it restarts)' : ''].filter(Boolean).join(', and ');
    const opaque = refused.filter((r) => r.kind === NESTED_STACK_KIND);
    const unread = opaque.length
      ? `\nWhat happens inside ${opaque.map((r) => r.logicalId).join(', ')} is not known: check its template in out/ against the deployed one ` +
        `(or the nested change set in the console) first. Naming a nested stack accepts that; its stack policy still denies replacing or deleting the stateful resources in it.`
      : '';
    throw new UserError(
      `Refusing to execute change set ${changeSetName}: it would ${what}:\n` +
        `${refused.map(line).join('\n')}\n` +
        `If that is intended, run again with --allow-replacement ${names}${stopping ? ' (for a master: when DC/OS can lose it for its restart)' : ''}.${unread}`,
    );
  }
  // Stack policies are loosened for resources named one by one, never for a whole nested stack nor for a restart.
  return risks.filter((r) => r.action !== 'interrupt' && r.kind !== NESTED_STACK_KIND && allowed(r, allow));
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
