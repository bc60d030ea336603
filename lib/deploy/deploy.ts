/**
 * `npm run deploy`, top to bottom: check the stack's state, upload, create the change set, show it,
 * gate it, execute, follow events, protect, report. It ends in one DeployResult; only bad input throws (a
 * UserError), and the entry point turns either into a message and an exit code.
 *
 * Every run that finds the stack standing ends with its protections as they should be (`protect`), a "No
 * changes" run and a failed update included. Interrupted before execution, the run deletes what it created
 * (the change set, and the empty stack of a CREATE) and restores a policy it loosened; interrupted during
 * execution, it leaves CloudFormation running and prints the command that follows it to the end and applies
 * the protections (`followDeploy`, `--follow`).
 */
import { ExecuteChangeSetCommand, GetTemplateCommand, type Output, type Stack } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { onInterrupt, throwIfInterrupted } from '../interrupt.js';
import { parseTemplate } from '../yaml.js';
import type { AwsClients } from './aws.js';
import { discardChangeSet, flattenTree, type StackChanges } from './change-set.js';
import { checkAllowedNames, checkDataGate, findDataRisks, type DataRisk } from './gate.js';
import { plan, type PlanProps } from './plan.js';
import { followStack, isFailure, isSettled, rootCauses, type RootCause } from './progress.js';
import { convergeStackPolicies, policyTargets, protect } from './protect.js';
import { describeStack } from './stack-state.js';
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
  /** How long to follow an execution before leaving it to CloudFormation. @default 4 hours */
  readonly followTimeoutMs?: number;
  /** The command that follows this stack to the end and applies its protections. @default npm run deploy -- --stack-name NAME --follow */
  readonly resumeCommand?: string;
}

export type DeployResult =
  | { readonly kind: 'no-op'; readonly stackName: string; readonly why: string; readonly outputs: readonly Output[] }
  | { readonly kind: 'deployed'; readonly stackName: string; readonly changeSet: string; readonly status: string; readonly seconds: number; readonly outputs: readonly Output[] }
  | { readonly kind: 'not-executed'; readonly stackName: string; readonly changeSet: string; readonly why: 'no-execute' | 'declined'; readonly did?: string }
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

function resumeCommandOf(props: DeployProps): string {
  return props.resumeCommand ?? `npm run deploy -- --stack-name ${props.stackName} --follow`;
}

/** The sentence for a deploy stopped while CloudFormation works (or has just finished) on the stack. */
async function leftRunning(props: DeployProps, stackId: string): Promise<string> {
  let status = 'unknown';
  try {
    status = (await describeStack(props.clients.cfn, stackId))?.StackStatus ?? 'DELETE_COMPLETE';
  } catch {
    // the status is only informative here
  }
  const state = isSettled(status) ? `has finished: ${status}` : `keeps going on its own (now ${status}); nothing was cancelled`;
  return `  CloudFormation ${state}.\n  To follow it to the end and apply the stack policies and termination protection, run:\n    ${resumeCommandOf(props)}`;
}

export async function deploy(props: DeployProps): Promise<DeployResult> {
  const { clients, templates, stackName, print } = props;
  const { cfn } = clients;
  const protection = props.terminationProtection ?? true;

  // 1–6. State, parameters, no-op check, upload, change set, preview (shared with diff).
  const planned = await plan(props, props.execute === false ? 'review' : 'deploy');
  if (planned.kind === 'no-op') {
    await protect({ clients, templates, stackName, stack: planned.stack, terminationProtection: protection, print });
    return { kind: 'no-op', stackName, why: planned.why, outputs: planned.stack.Outputs ?? [] };
  }
  if (planned.kind === 'empty') {
    await planned.discard();
    const stack = await describeStack(cfn, stackName);
    if (stack) await protect({ clients, templates, stackName, stack, terminationProtection: protection, print });
    return { kind: 'no-op', stackName, why: 'CloudFormation found no changes in the change set (deleted)', outputs: stack?.Outputs ?? [] };
  }
  const { changeSet, tree, preview } = planned;
  print(`\nChange set ${changeSet.name} (${planned.type === 'CREATE' ? `creates stack ${stackName}` : `updates stack ${stackName}`}):\n`);
  print(preview.text);

  // 7. The data gate: no stateful resource is removed or replaced unless named, and every name is real.
  let allowed: DataRisk[];
  try {
    checkAllowedNames(props.allowReplacement ?? [], templates, tree);
    const stateful = await statefulByPath(clients, templates, tree);
    allowed = checkDataGate(findDataRisks(tree, (path) => stateful.get(path) ?? new Map()), props.allowReplacement ?? [], changeSet.name);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`${err.message}\n${await planned.discard()}`, err.exitCode);
  }

  // 8. Review: leave it, or ask.
  if (props.execute === false) {
    planned.release();
    print(`\nChange set ${changeSet.name} left for review (--no-execute). Execute it in the console, or run deploy again.\n  ${changeSet.id}`);
    return { kind: 'not-executed', stackName, changeSet: changeSet.name, why: 'no-execute' };
  }
  if (!(await props.confirm(`Execute change set ${changeSet.name} on ${stackName}?`))) {
    return { kind: 'not-executed', stackName, changeSet: changeSet.name, why: 'declined', did: await planned.discard() };
  }

  // 9. Let the allowed replacements through the stack policies, for this execution only (an interrupt before
  //    the execution restores them; a later run's `protect` restores them after it).
  let restoreLoosened = () => {};
  if (allowed.length && planned.type === 'UPDATE') {
    await convergeStackPolicies(clients, await policyTargets(clients, templates, stackName, allowed, changeSet.stackId));
    restoreLoosened = onInterrupt(async () => {
      for (const line of await convergeStackPolicies(clients, await policyTargets(clients, templates, stackName, [], changeSet.stackId))) print(`  ${line}`);
    });
  }

  // 10. Execute: from here on CloudFormation owns the operation; an interrupt says how to follow it.
  throwIfInterrupted();
  restoreLoosened();
  const since = new Date();
  const executing = cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: changeSet.id, StackName: changeSet.stackId }));
  planned.release();
  const stopReporting = onInterrupt(async () => {
    const executed = await executing.then(() => true, () => false);
    print(executed ? await leftRunning(props, changeSet.stackId) : `  ${await discardChangeSet(cfn, changeSet, planned.createdStack)}`);
  });
  try {
    await executing;
  } catch (err) {
    stopReporting();
    // Not executed: the change set (and the empty stack of a CREATE) would be left behind.
    const first = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];
    const did = await planned.discard().catch((e: unknown) => `Could not delete change set ${changeSet.name} (${first(e)}); delete it in the console.`);
    if (err instanceof UserError) throw new UserError(`${err.message}\n${did}`, err.exitCode);
    const stack = await describeStack(cfn, stackName);
    if (stack) await protect({ clients, templates, stackName, stack, terminationProtection: protection, print });
    return { kind: 'failed', stackName, status: 'EXECUTE_FAILED', rootCauses: [{ stack: stackName, logicalId: stackName, status: 'EXECUTE_FAILED', reason: first(err) }], hint: `${did}\n${failureHint(stackName, 'EXECUTE_FAILED')}` };
  }
  print(`\nExecuting ${changeSet.name}:`);
  return finish(props, changeSet.stackId, since, changeSet.name, stopReporting);
}

/** Follows the operation to its end, applies the protections and reports (deploy after its execution, and --follow). */
async function finish(props: DeployProps, stackId: string, since: Date, changeSet: string, stopReporting: () => void): Promise<DeployResult> {
  const { clients, templates, stackName, print } = props;
  const followed = await followStack({
    cfn: clients.cfn,
    stack: stackId,
    since,
    print,
    resumeHint: `Once that is fixed, run '${resumeCommandOf(props)}' to follow it to the end and apply the stack policies and termination protection.`,
    ...(props.eventPollMs ? { pollMs: props.eventPollMs } : {}),
    ...(props.followTimeoutMs ? { timeoutMs: props.followTimeoutMs } : {}),
  });
  const seconds = Math.round((Date.now() - since.getTime()) / 1000);

  // 11. Protect (a rolled-back update too: a loosened policy is restored), then report.
  if (followed.stack) await protect({ clients, templates, stackName, stack: followed.stack, terminationProtection: props.terminationProtection ?? true, print });
  stopReporting();
  if (isFailure(followed.status) || !followed.stack) {
    return { kind: 'failed', stackName, status: followed.status, rootCauses: rootCauses(followed.events), hint: failureHint(stackName, followed.status) };
  }
  return { kind: 'deployed', stackName, changeSet, status: followed.status, seconds, outputs: followed.stack.Outputs ?? [] };
}

/**
 * `deploy --follow`: picks up a stack an interrupted or cut-off deploy left to CloudFormation. Follows the
 * operation in progress from its start (events of every nested stack), then applies the protections and
 * reports like a deploy. A settled stack is only protected and reported. Creates no change set.
 */
export async function followDeploy(props: DeployProps): Promise<DeployResult> {
  const { clients, stackName, print } = props;
  const stack: Stack | undefined = await describeStack(clients.cfn, stackName);
  if (!stack) throw new UserError(`Stack ${stackName} does not exist in ${clients.region}: there is nothing to follow. Deploy it without --follow.`);
  if (stack.StackStatus === 'REVIEW_IN_PROGRESS') {
    throw new UserError(`Stack ${stackName} is REVIEW_IN_PROGRESS: a change set was created but never executed, so there is nothing to follow. Run deploy without --follow.`);
  }
  const since = stack.LastUpdatedTime ?? stack.CreationTime ?? new Date();
  print(isSettled(stack.StackStatus) ? `Stack ${stackName} is ${stack.StackStatus}.` : `Following stack ${stackName} (${stack.StackStatus}), from the start of its current operation:`);
  const stopReporting = onInterrupt(async () => print(await leftRunning(props, stack.StackId ?? stackName)));
  return finish(props, stack.StackId ?? stackName, since, '(followed)', stopReporting);
}
