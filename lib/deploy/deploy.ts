/**
 * `npm run deploy`, top to bottom: check the stack's state, upload, create the change set, show it,
 * gate it, execute, follow events, report. It ends in one DeployResult; only bad input throws (a
 * UserError), and the entry point turns either into a message and an exit code.
 */
import {
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  UpdateTerminationProtectionCommand,
  type Output,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { parseTemplate } from '../yaml.js';
import type { AwsClients } from './aws.js';
import { deleteChangeSet, flattenTree, type StackChanges } from './change-set.js';
import { checkDataGate, findDataRisks, type DataRisk } from './gate.js';
import { plan, type PlanProps } from './plan.js';
import { followStack, isFailure, rootCauses, type RootCause } from './progress.js';
import { nestedStackIds, setStackPolicies, type PolicyTarget } from './stack-policy.js';
import { statefulResources } from './stateful.js';
import type { Template, TemplateSet } from './templates.js';

export interface DeployProps extends PlanProps {
  /** Logical IDs (or `Nested/LogicalId`) of stateful resources that may be removed or replaced. @default none */
  readonly allowReplacement?: readonly string[];
  /** False for --no-execute: leave the change set for review. @default true */
  readonly execute?: boolean;
  /** Asks before executing; `--yes` answers true. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** Termination protection on the root stack. @default true */
  readonly terminationProtection?: boolean;
  /** Milliseconds between event polls. @default 5000 */
  readonly eventPollMs?: number;
}

export type DeployResult =
  | { readonly kind: 'no-op'; readonly stackName: string; readonly why: string; readonly outputs: readonly Output[] }
  | { readonly kind: 'deployed'; readonly stackName: string; readonly changeSet: string; readonly status: string; readonly seconds: number; readonly outputs: readonly Output[] }
  | { readonly kind: 'not-executed'; readonly stackName: string; readonly changeSet: string; readonly why: 'no-execute' | 'declined' }
  | { readonly kind: 'failed'; readonly stackName: string; readonly status: string; readonly rootCauses: readonly RootCause[]; readonly hint: string };

/** Which template describes the stack at a change-tree path (`Root`, `Root/Network`). */
function templateAt(templates: TemplateSet, tree: StackChanges, path: string): Template | undefined {
  if (path === tree.path) return templates.root.template;
  return templates.nested[path.split('/').pop() ?? '']?.template;
}

/**
 * Stateful resources per stack path, from the local templates; for a stack that loses an EC2
 * instance, also from its deployed template (a removed master is no longer in the local one).
 */
async function statefulByPath(clients: AwsClients, templates: TemplateSet, tree: StackChanges): Promise<Map<string, Map<string, string>>> {
  const byPath = new Map<string, Map<string, string>>();
  for (const stack of flattenTree(tree)) {
    const local = templateAt(templates, tree, stack.path);
    const found = local ? statefulResources(local) : new Map<string, string>();
    if (stack.stackId && stack.changes.some((c) => c.Action === 'Remove' && c.ResourceType === 'AWS::EC2::Instance')) {
      const deployed = await clients.cfn.send(new GetTemplateCommand({ StackName: stack.stackId, TemplateStage: 'Original' }));
      if (deployed.TemplateBody) for (const [id, kind] of statefulResources(parseTemplate(deployed.TemplateBody) as Template)) if (!found.has(id)) found.set(id, kind);
    }
    byPath.set(stack.path, found);
  }
  return byPath;
}

/** Policy targets for the root and each nested stack; `allowed` risks are let through this once. */
async function policyTargets(clients: AwsClients, templates: TemplateSet, stackName: string, allowed: readonly DataRisk[] = []): Promise<PolicyTarget[]> {
  const allowIn = (path: string) => allowed.filter((r) => r.stack === path).map((r) => r.logicalId);
  const targets: PolicyTarget[] = [{ stack: stackName, template: templates.root.template, allow: allowIn(stackName) }];
  for (const [id, physical] of await nestedStackIds(clients.cfn, stackName)) {
    const nested = templates.nested[id];
    if (nested) targets.push({ stack: physical, template: nested.template, allow: allowIn(`${stackName}/${id}`) });
  }
  return targets;
}

async function ensureTerminationProtection(clients: AwsClients, stack: Stack | undefined, stackName: string, wanted: boolean, print: (line: string) => void): Promise<void> {
  if ((stack?.EnableTerminationProtection ?? false) === wanted) return;
  await clients.cfn.send(new UpdateTerminationProtectionCommand({ StackName: stack?.StackId ?? stackName, EnableTerminationProtection: wanted }));
  print(`Termination protection ${wanted ? 'enabled' : 'disabled'} on ${stackName}.`);
}

function failureHint(stackName: string, status: string): string {
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    return `The first create failed and was rolled back. Fix the cause above, then run deploy again with --replace-failed.`;
  }
  if (status === 'UPDATE_ROLLBACK_COMPLETE') return `The update was rolled back; the cluster is as it was before. Fix the cause above and deploy again.`;
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return `The rollback failed too. Fix what blocks it, then run 'aws cloudformation continue-update-rollback --stack-name ${stackName}' and deploy again.`;
  }
  return `Look at the events above, fix the cause and deploy again.`;
}

export async function deploy(props: DeployProps): Promise<DeployResult> {
  const { clients, templates, stackName, print } = props;
  const { cfn } = clients;
  const protection = props.terminationProtection ?? true;

  // 1–6. State, parameters, no-op check, upload, change set, preview (shared with diff).
  const planned = await plan(props);
  if (planned.kind === 'no-op') {
    await ensureTerminationProtection(clients, planned.stack, stackName, protection, print);
    return { kind: 'no-op', stackName, why: planned.why, outputs: planned.stack.Outputs ?? [] };
  }
  if (planned.kind === 'empty') {
    await deleteChangeSet(cfn, planned.changeSet);
    return { kind: 'no-op', stackName, why: 'CloudFormation found no changes in the change set (deleted)', outputs: [] };
  }
  const { changeSet, tree, preview } = planned;
  print(`\nChange set ${changeSet.name} (${planned.type === 'CREATE' ? `creates stack ${stackName}` : `updates stack ${stackName}`}):\n`);
  print(preview.text);

  // 7. The data gate: no stateful resource is removed or replaced unless named.
  const stateful = await statefulByPath(clients, templates, tree);
  let allowed: DataRisk[];
  try {
    allowed = checkDataGate(findDataRisks(tree, (path) => stateful.get(path) ?? new Map()), props.allowReplacement ?? [], changeSet.name);
  } catch (err) {
    await deleteChangeSet(cfn, changeSet);
    throw err;
  }

  // 8. Review: leave it, or ask.
  if (props.execute === false) {
    print(`\nChange set ${changeSet.name} left for review (--no-execute). Execute it in the console, or run deploy again.\n  ${changeSet.id}`);
    return { kind: 'not-executed', stackName, changeSet: changeSet.name, why: 'no-execute' };
  }
  if (!(await props.confirm(`Execute change set ${changeSet.name} on ${stackName}?`))) {
    await deleteChangeSet(cfn, changeSet);
    return { kind: 'not-executed', stackName, changeSet: changeSet.name, why: 'declined' };
  }

  // 9. Let the allowed replacements through the stack policies, for this execution only.
  if (allowed.length && planned.type === 'UPDATE') await setStackPolicies(cfn, await policyTargets(clients, templates, stackName, allowed));

  // 10. Execute and follow the events until the stack settles.
  const since = new Date();
  try {
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: changeSet.id, StackName: changeSet.stackId }));
  } catch (err) {
    if (err instanceof UserError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    return { kind: 'failed', stackName, status: 'EXECUTE_FAILED', rootCauses: [{ stack: stackName, logicalId: stackName, status: 'EXECUTE_FAILED', reason }], hint: failureHint(stackName, 'EXECUTE_FAILED') };
  }
  print(`\nExecuting ${changeSet.name}:`);
  const followed = await followStack({ cfn, stack: changeSet.stackId, since, print, ...(props.eventPollMs ? { pollMs: props.eventPollMs } : {}) });
  const seconds = Math.round((Date.now() - since.getTime()) / 1000);

  // 11. Report: root causes of a failure, or protection and outputs.
  if (isFailure(followed.status) || !followed.stack) {
    return { kind: 'failed', stackName, status: followed.status, rootCauses: rootCauses(followed.events), hint: failureHint(stackName, followed.status) };
  }
  await setStackPolicies(cfn, await policyTargets(clients, templates, stackName));
  await ensureTerminationProtection(clients, followed.stack, stackName, protection, print);
  return { kind: 'deployed', stackName, changeSet: changeSet.name, status: followed.status, seconds, outputs: followed.stack.Outputs ?? [] };
}
