/**
 * `npm run deploy`, top to bottom: check the stack's state, detect drift, upload, create the change set
 * (drift-aware with --revert-drift), show it with what it does to each drifted property, gate it, execute,
 * follow events, protect, report. It ends in one DeployResult; only bad input throws (a
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
import { convergeStackPolicies, deployedTemplates, isProtectable, policyTargets, protect, type StackTemplates } from './protect.js';
import { describeStack } from './stack-state.js';
import { statefulResources } from './stateful.js';
import type { Template, TemplateSet } from './templates.js';

/** What following an operation to its end needs: `deploy --follow` needs nothing more, and no out/. */
export interface FollowDeployProps {
  readonly clients: AwsClients;
  readonly stackName: string;
  readonly print: (line: string) => void;
  /** Termination protection on the root stack. @default true */
  readonly terminationProtection?: boolean;
  /** Milliseconds between event polls. @default 5000 */
  readonly eventPollMs?: number;
  /** How long to follow an execution before leaving it to CloudFormation. @default 4 hours */
  readonly followTimeoutMs?: number;
  /** The command that follows this stack to the end and applies its protections. @default npm run deploy -- --stack-name NAME --follow */
  readonly resumeCommand?: string;
}

export interface DeployProps extends PlanProps, FollowDeployProps {
  /** Logical IDs (or `Nested/LogicalId`) of stateful resources that may be removed or replaced. @default none */
  readonly allowReplacement?: readonly string[];
  /** False for --no-execute: leave the change set for review. @default true */
  readonly execute?: boolean;
  /** Asks before executing; `--yes` answers true. */
  readonly confirm: (question: string) => Promise<boolean>;
}

export type DeployResult =
  | { readonly kind: 'no-op'; readonly stackName: string; readonly why: string; readonly outputs: readonly Output[] }
  /** `seconds`: from the operation's start to its end as observed; undefined when the start is not known. */
  | { readonly kind: 'deployed'; readonly stackName: string; readonly changeSet: string; readonly status: string; readonly seconds?: number; readonly outputs: readonly Output[] }
  /** `--follow` found no operation in progress: the stack as it is (protections converged), nothing followed. */
  | { readonly kind: 'settled'; readonly stackName: string; readonly status: string; readonly outputs: readonly Output[]; readonly hint?: string }
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

/** What to do about a stack whose last operation failed, when --follow found it already settled (no events shown). */
function settledFailureHint(stackName: string, status: string): string {
  const events = `Its events say why: aws cloudformation describe-stack-events --stack-name ${stackName}.`;
  if (status === 'UPDATE_ROLLBACK_FAILED') return `${events} Fix what blocks the rollback, run 'aws cloudformation continue-update-rollback --stack-name ${stackName}', then deploy again.`;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') return `${events} Fix the cause, then deploy again with --replace-failed.`;
  return `${events} Fix the cause and deploy again.`;
}

function resumeCommandOf(props: FollowDeployProps): string {
  return props.resumeCommand ?? `npm run deploy -- --stack-name ${props.stackName} --follow`;
}

/** The sentence for a deploy stopped while CloudFormation works (or has just finished) on the stack. */
async function leftRunning(props: FollowDeployProps, stackId: string): Promise<string> {
  let status = 'unknown';
  try {
    status = (await describeStack(props.clients.cfn, stackId))?.StackStatus ?? 'DELETE_COMPLETE';
  } catch {
    // the status is only informative here
  }
  return leftRunningMessage(status, resumeCommandOf(props));
}

/**
 * What an interrupted deploy says about the operation it leaves, by the stack's `status` then: still running, it
 * keeps going and `resume` follows it to the end; finished, there is nothing to follow, only the protections to
 * apply (or, when it failed, the reasons to read), which `resume` does.
 */
export function leftRunningMessage(status: string, resume: string): string {
  if (!isSettled(status)) {
    return `  CloudFormation keeps going on its own (now ${status}); nothing was cancelled.\n  To follow it to the end and apply the stack policies and termination protection, run:\n    ${resume}`;
  }
  const next = isFailure(status) ? 'To see why it failed' : 'To apply the stack policies and termination protection';
  return `  CloudFormation has finished: ${status}.\n  ${next}, run:\n    ${resume}`;
}

export async function deploy(props: DeployProps): Promise<DeployResult> {
  const { clients, templates, stackName, print } = props;
  const { cfn } = clients;
  const protection = props.terminationProtection ?? true;

  // 1–6. State, parameters, no-op check, drift, upload, change set, preview (shared with diff).
  const planned = await plan(props, props.execute === false ? 'review' : 'deploy');
  if (planned.kind === 'no-op') {
    await protect({ clients, templates, stackName, stack: planned.stack, terminationProtection: protection, print });
    return { kind: 'no-op', stackName, why: planned.why, outputs: planned.stack.Outputs ?? [] };
  }
  if (planned.kind === 'empty') {
    await planned.discard();
    if (planned.drift.text) print(`\n${planned.drift.text}`);
    const stack = await describeStack(cfn, stackName);
    if (stack) await protect({ clients, templates, stackName, stack, terminationProtection: protection, print });
    const nothing = props.revertDrift ? 'CloudFormation found nothing to change and no drift to revert' : 'CloudFormation found no changes';
    return { kind: 'no-op', stackName, why: `${nothing} in the change set (deleted)`, outputs: stack?.Outputs ?? [] };
  }
  const { changeSet, tree, preview, drift } = planned;
  print(`\nChange set ${changeSet.name} (${planned.type === 'CREATE' ? `creates stack ${stackName}` : `updates stack ${stackName}`}${tree.deploymentMode === 'REVERT_DRIFT' ? ', drift-aware' : ''}):\n`);
  print(preview.text);
  if (drift.text) print(`\n${drift.text}`);

  // 7. The data gate: no stateful resource is removed or replaced unless named, and every name is real. It reads the
  //    change set, so a drift-aware one is gated alike.
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

  // 9. Let the allowed replacements through the stack policies, for this execution only. An interrupt before the
  //    execution waits for the loosening under way, then restores them; so does a failure to loosen or to execute.
  //    After the execution, the next run's `protect` restores them.
  const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const loosens = allowed.length > 0 && planned.type === 'UPDATE';
  const restore = async (): Promise<string> => {
    try {
      return (await convergeStackPolicies(clients, await policyTargets(clients, templates, stackName, [], changeSet.stackId))).map((line) => `  ${line}`).join('\n');
    } catch (e) {
      return `Could not restore the stack policies (${firstLine(e)}): run deploy again to put them back.`;
    }
  };
  let restoreLoosened = () => {};
  if (loosens) {
    const loosening = (async () => convergeStackPolicies(clients, await policyTargets(clients, templates, stackName, allowed, changeSet.stackId)))();
    restoreLoosened = onInterrupt(async () => {
      await loosening.catch(() => {});
      const restored = await restore();
      if (restored) print(restored);
    });
    try {
      await loosening;
    } catch (err) {
      restoreLoosened();
      const undone = [await restore(), await planned.discard().catch((e: unknown) => `Could not delete change set ${changeSet.name} (${firstLine(e)}); delete it in the console.`)].filter(Boolean).join('\n');
      if (err instanceof UserError) throw new UserError(`${err.message}\n${undone}`, err.exitCode);
      throw err;
    }
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
    // Not executed: the change set (and the empty stack of a CREATE) would be left behind, and loosened policies too.
    const did = [
      await planned.discard().catch((e: unknown) => `Could not delete change set ${changeSet.name} (${firstLine(e)}); delete it in the console.`),
      ...(loosens ? [await restore()] : []),
    ].filter(Boolean).join('\n');
    if (err instanceof UserError) throw new UserError(`${err.message}\n${did}`, err.exitCode);
    const stack = await describeStack(cfn, stackName);
    if (stack) await protect({ clients, templates, stackName, stack, terminationProtection: protection, print });
    return { kind: 'failed', stackName, status: 'EXECUTE_FAILED', rootCauses: [{ stack: stackName, logicalId: stackName, status: 'EXECUTE_FAILED', reason: firstLine(err) }], hint: `${did}\n${failureHint(stackName, 'EXECUTE_FAILED')}` };
  }
  print(`\nExecuting ${changeSet.name}:`);
  return finish(props, changeSet.stackId, { since, measured: true }, changeSet.name, stopReporting, async () => templates);
}

/**
 * Follows the operation to its end, applies the protections and reports (deploy after its execution, and --follow).
 * `start.since` is the operation's start, events before it are history; its duration is reported only when
 * `start.measured` (the start is known). `templatesNow` gives the templates the protections are computed from.
 */
async function finish(
  props: FollowDeployProps,
  stackId: string,
  start: { readonly since: Date; readonly measured: boolean },
  changeSet: string,
  stopReporting: () => void,
  templatesNow: () => Promise<StackTemplates>,
): Promise<DeployResult> {
  const { clients, stackName, print } = props;
  const followed = await followStack({
    cfn: clients.cfn,
    stack: stackId,
    since: start.since,
    print,
    resumeHint: `Once that is fixed, run '${resumeCommandOf(props)}' to follow it to the end and apply the stack policies and termination protection.`,
    ...(props.eventPollMs ? { pollMs: props.eventPollMs } : {}),
    ...(props.followTimeoutMs ? { timeoutMs: props.followTimeoutMs } : {}),
  });
  const seconds = start.measured ? Math.round((Date.now() - start.since.getTime()) / 1000) : undefined;

  // 11. Protect (a rolled-back update too: a loosened policy is restored), then report.
  if (followed.stack && isProtectable(followed.stack.StackStatus)) {
    await protect({ clients, templates: await templatesNow(), stackName, stack: followed.stack, terminationProtection: props.terminationProtection ?? true, print });
  }
  stopReporting();
  if (isFailure(followed.status) || !followed.stack) {
    return { kind: 'failed', stackName, status: followed.status, rootCauses: rootCauses(followed.events), hint: failureHint(stackName, followed.status) };
  }
  return { kind: 'deployed', stackName, changeSet, status: followed.status, ...(seconds !== undefined ? { seconds } : {}), outputs: followed.stack.Outputs ?? [] };
}

/**
 * When the operation a stack is in started, as CloudFormation reports it: an update (and its rollback) at
 * LastUpdatedTime, a create (and its rollback) at CreationTime. Undefined when the stack does not say (an update
 * without LastUpdatedTime, as an emulator may answer): then nothing is made up.
 */
function operationStart(stack: Stack): Date | undefined {
  const status = stack.StackStatus ?? '';
  if (/^(UPDATE_|IMPORT_)/.test(status)) return stack.LastUpdatedTime;
  if (/^(CREATE_|ROLLBACK_)/.test(status)) return stack.CreationTime;
  if (status.startsWith('DELETE_')) return stack.DeletionTime;
  return undefined;
}

/**
 * `deploy --follow`: picks up a stack an interrupted or cut-off deploy left to CloudFormation. Follows the
 * operation in progress from its start (events of every nested stack; from now on when its start is not known),
 * then applies the protections and reports like a deploy. A stack with no operation in progress is said to be so
 * (no history is replayed) and only protected. The protections are computed from the templates the stacks run
 * (GetTemplate), never from a local out/, which --follow does not read. Creates no change set.
 */
export async function followDeploy(props: FollowDeployProps): Promise<DeployResult> {
  const { clients, stackName, print } = props;
  const stack: Stack | undefined = await describeStack(clients.cfn, stackName);
  if (!stack) throw new UserError(`Stack ${stackName} does not exist in ${clients.region}: there is nothing to follow. Deploy it without --follow.`);
  if (stack.StackStatus === 'REVIEW_IN_PROGRESS') {
    throw new UserError(`Stack ${stackName} is REVIEW_IN_PROGRESS: a change set was created but never executed, so there is nothing to follow. Run deploy without --follow.`);
  }
  const stackId = stack.StackId ?? stackName;
  const templatesNow = () => deployedTemplates(clients, stackName, stackId);
  if (isSettled(stack.StackStatus)) {
    const status = stack.StackStatus!;
    print(`Stack ${stackName} is ${status}: no operation is in progress, so there is nothing to follow.`);
    if (isProtectable(status)) await protect({ clients, templates: await templatesNow(), stackName, stack, terminationProtection: props.terminationProtection ?? true, print });
    return { kind: 'settled', stackName, status, outputs: stack.Outputs ?? [], ...(isFailure(status) ? { hint: settledFailureHint(stackName, status) } : {}) };
  }
  const start = operationStart(stack);
  print(
    start
      ? `Following stack ${stackName} (${stack.StackStatus}), from the start of its current operation (${start.toISOString()}):`
      : `Following stack ${stackName} (${stack.StackStatus}); CloudFormation does not say when this operation started, so events from now on:`,
  );
  const stopReporting = onInterrupt(async () => print(await leftRunning(props, stackId)));
  return finish(props, stackId, { since: start ?? new Date(), measured: start !== undefined }, '(followed)', stopReporting, templatesNow);
}
