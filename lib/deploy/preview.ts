/**
 * The preview: a tree of changes per stack (`+` add, `~` modify, `-` remove, `!` replace,
 * `?` maybe replace, `=` sync with live), with security-relevant changes called out, so a reviewer sees
 * at a glance whether the internet's view of the cluster changes. `=` is a drift-aware change set's
 * `SyncWithActual`: the new template matches the live resource, so CloudFormation only resets its drift
 * status (API reference, ResourceChange.Action); `Dynamic` ("can't be determined") shows as `?`.
 *
 * A nested stack without a change set of its own (OpaqueStack, lib/deploy/change-set.ts) is never passed over: one
 * the change set creates is shown from its local template (everything in it is added), and the security summary of
 * one it updates or deletes says "unknown" for it, never "none".
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';
import { securityNote, touched } from '../security-relevance.js';
import { opaqueStacks, type StackChanges } from './change-set.js';
import type { Template } from './templates.js';

export type ChangeMark = '+' | '~' | '-' | '!' | '?' | '=';

export function changeMark(change: ResourceChange): ChangeMark {
  if (change.Action === 'Add' || change.Action === 'Import') return '+';
  if (change.Action === 'Remove') return '-';
  if (change.Action === 'SyncWithActual') return '=';
  if (change.Action === 'Dynamic') return '?';
  if (change.Replacement === 'True') return '!';
  if (change.Replacement === 'Conditional') return '?';
  return '~';
}

function formatChange(change: ResourceChange, indent: string): string {
  const mark = changeMark(change);
  const props = change.Action === 'Modify' ? touched(change) : [];
  const detail = props.length ? `  (${props.join(', ')})` : '';
  const note = securityNote(change);
  return `${indent}${mark} ${(change.LogicalResourceId ?? '?').padEnd(32)} ${change.ResourceType ?? ''}${detail}${note ? `   [security: ${note}]` : ''}`;
}

export interface Preview {
  readonly text: string;
  /** Number of resource changes, nested stacks excluded. */
  readonly changeCount: number;
  /** Security-relevant changes, `Stack/LogicalId: label`. */
  readonly security: readonly string[];
  /** Nested stacks whose changes are unknown (updated or deleted without a change set to read), `Stack/Nested: why`. */
  readonly unknown: readonly string[];
}

const NESTED_STACK = 'AWS::CloudFormation::Stack';

/**
 * Renders the change tree, nested stacks under their parents. `local` gives a nested stack's template in out/ by its
 * logical ID: a nested stack the change set creates without a change set of its own is shown from it.
 */
export function renderPreview(tree: StackChanges, local: (logicalId: string) => Template | undefined = () => undefined): Preview {
  const lines: string[] = [];
  const security: string[] = [];
  const unknown: string[] = [];
  const opaque = new Map(opaqueStacks(tree).map((o) => [o.path, o]));
  let changeCount = 0;
  const show = (path: string, change: ResourceChange, indent: string) => {
    changeCount++;
    lines.push(formatChange(change, indent));
    const note = securityNote(change);
    if (note) security.push(`${path}/${change.LogicalResourceId}: ${note} (${changeMark(change)})`);
  };
  /** Everything a new nested stack creates, from its local template (and so on for its own nested stacks). */
  const created = (path: string, template: Template, indent: string) => {
    for (const [id, resource] of Object.entries(template.Resources ?? {})) {
      const change: ResourceChange = { Action: 'Add', LogicalResourceId: id, ResourceType: resource.Type };
      if (resource.Type !== NESTED_STACK) {
        show(path, change, indent);
        continue;
      }
      nested(`${path}/${id}`, change, indent, undefined);
    }
  };
  const nested = (path: string, change: ResourceChange, indent: string, child: StackChanges | undefined) => {
    const head = `${indent}${changeMark(change)} ${change.LogicalResourceId} (nested stack)`;
    if (child) {
      lines.push(head);
      walk(child, `${indent}    `);
      return;
    }
    const template = change.Action === 'Add' ? local(change.LogicalResourceId ?? '') : undefined;
    if (template) {
      lines.push(`${head}: created from its template in out/`);
      created(path, template, `${indent}    `);
      return;
    }
    const why = opaque.get(path)?.why ?? (change.Action === 'Add' ? 'it is not in out/' : 'CloudFormation gave no change set for it');
    lines.push(`${head}: what it changes is unknown: ${why}`);
    unknown.push(`${path}: ${why}`);
  };
  const walk = (stack: StackChanges, indent: string) => {
    for (const change of stack.changes) {
      if (change.ResourceType === NESTED_STACK) {
        nested(`${stack.path}/${change.LogicalResourceId}`, change, indent, stack.children.find((c) => c.logicalId === change.LogicalResourceId));
        continue;
      }
      show(stack.path, change, indent);
    }
  };
  lines.push(`${tree.logicalId}`);
  walk(tree, '  ');
  const legend = '  (+ add, ~ modify, - remove, ! replace, ? may replace, = sync with live)';
  const known = security.length ? `\nSecurity-relevant changes (${security.length}): review who can reach the cluster.\n${security.map((s) => `  * ${s}`).join('\n')}` : '';
  const summary = unknown.length
    ? `${known}\nSecurity-relevant changes${security.length ? ' in the nested stacks below' : ''}: unknown, since what they change could not be read:\n${unknown.map((u) => `  * ${u}`).join('\n')}\n` +
      '  Review their templates in out/ against what is deployed before executing (the data gate refuses them unless named).'
    : security.length
      ? known
      : '\nNo security-relevant changes (security groups, IAM, load balancers, public IPs, routes, network interfaces, bucket and key policies).';
  return { text: `${lines.join('\n')}\n${legend}${summary}`, changeCount, security, unknown };
}
