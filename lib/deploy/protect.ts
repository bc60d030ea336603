/**
 * Protections converge on every deploy run: each stack's policy and the root's termination protection are
 * read and set to what they should be, whatever state an earlier run left them in (interrupted before it
 * applied them, a policy loosened for `--allow-replacement` and never restored, a change made by hand).
 * The deployed policies are their own record: a loosened one differs from the wanted one and is restored.
 * Only the stacks whose policy differs are written, so an unchanged cluster costs reads only.
 */
import { GetStackPolicyCommand, GetTemplateCommand, UpdateTerminationProtectionCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors.js';
import { parseTemplate } from '../yaml.js';
import type { AwsClients } from './aws.js';
import type { DataRisk } from './gate.js';
import { nestedStackIds, setStackPolicies, stackPolicyFor, type PolicyTarget } from './stack-policy.js';
import type { Template } from './templates.js';

/**
 * The templates protections are computed from: the root's and each nested stack's by its logical ID in the root.
 * A TemplateSet read from out/ is one; `deployedTemplates` reads the ones the stacks run.
 */
export interface StackTemplates {
  readonly root: { readonly template: Template };
  readonly nested: Readonly<Record<string, { readonly template: Template }>>;
}

/**
 * The templates the root stack and its nested stacks run now (GetTemplate, Original stage), for protections that
 * must match what is deployed rather than a local out/. Throws a UserError naming the stack whose template cannot be
 * read, and saying that nothing was changed.
 */
export async function deployedTemplates(clients: AwsClients, stackName: string, stackId = stackName): Promise<StackTemplates> {
  const read = async (stack: string, label: string): Promise<{ template: Template }> => {
    try {
      const body = (await clients.cfn.send(new GetTemplateCommand({ StackName: stack, TemplateStage: 'Original' }))).TemplateBody;
      if (!body) throw new Error('the answer holds no template');
      return { template: parseTemplate(body) as Template };
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      throw new UserError(`Cannot read the deployed template of ${label} (GetTemplate: ${reason}), so its stack policy cannot be set to match it; the protections were not changed. Grant cloudformation:GetTemplate, or run a plain deploy.`);
    }
  };
  const root = await read(stackId, stackName);
  const nested: Record<string, { template: Template }> = {};
  for (const [id, physical] of await nestedStackIds(clients.cfn, stackId)) nested[id] = await read(physical, `${stackName}/${id}`);
  return { root, nested };
}

/** Statuses in which a stack holds its resources and takes a policy; not a failed first create. */
export function isProtectable(status: string | undefined): boolean {
  return status !== undefined && /_COMPLETE$/.test(status) && !['ROLLBACK_COMPLETE', 'DELETE_COMPLETE', 'REVIEW_IN_PROGRESS'].includes(status);
}

/** Policy targets for the root and each nested stack; `allowed` risks are let through this once. */
export async function policyTargets(
  clients: AwsClients,
  templates: StackTemplates,
  stackName: string,
  allowed: readonly DataRisk[] = [],
  stackId = stackName,
): Promise<PolicyTarget[]> {
  const allowIn = (path: string) => allowed.filter((r) => r.stack === path).map((r) => r.logicalId);
  const targets: PolicyTarget[] = [{ stack: stackId, label: stackName, template: templates.root.template, allow: allowIn(stackName) }];
  for (const [id, physical] of await nestedStackIds(clients.cfn, stackId)) {
    const nested = templates.nested[id];
    if (nested) targets.push({ stack: physical, label: `${stackName}/${id}`, template: nested.template, allow: allowIn(`${stackName}/${id}`) });
  }
  return targets;
}

/** Reads every stack's policy and writes those that differ from the wanted one; returns a line per write. */
export async function convergeStackPolicies(clients: AwsClients, targets: readonly PolicyTarget[]): Promise<string[]> {
  const current = await Promise.all(
    targets.map(async (t) => (await clients.cfn.send(new GetStackPolicyCommand({ StackName: t.stack }))).StackPolicyBody),
  );
  const differing = targets.filter((t, i) => {
    const body = current[i];
    let parsed: unknown;
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      parsed = undefined;
    }
    return !isDeepStrictEqual(parsed, JSON.parse(JSON.stringify(stackPolicyFor(t.template, t.allow))));
  });
  await setStackPolicies(clients.cfn, differing);
  return differing.map((t) => {
    const had = current[targets.indexOf(t)];
    return `Stack policy ${had ? 'restored' : 'set'} on ${t.label ?? t.stack}${t.allow?.length ? ` (letting ${t.allow.join(', ')} be replaced this once)` : ''}.`;
  });
}

export interface ProtectProps {
  readonly clients: AwsClients;
  readonly templates: StackTemplates;
  readonly stackName: string;
  /** The root stack as last described. */
  readonly stack: Stack;
  /** Termination protection wanted on the root stack. */
  readonly terminationProtection: boolean;
  readonly print: (line: string) => void;
}

/** Brings every stack policy and the root's termination protection to what they should be; prints what it changed. */
export async function protect({ clients, templates, stackName, stack, terminationProtection, print }: ProtectProps): Promise<void> {
  if (!isProtectable(stack.StackStatus)) return;
  for (const line of await convergeStackPolicies(clients, await policyTargets(clients, templates, stackName, [], stack.StackId ?? stackName))) print(line);
  if ((stack.EnableTerminationProtection ?? false) !== terminationProtection) {
    await clients.cfn.send(new UpdateTerminationProtectionCommand({ StackName: stack.StackId ?? stackName, EnableTerminationProtection: terminationProtection }));
    print(`Termination protection ${terminationProtection ? 'enabled' : 'disabled'} on ${stackName}.`);
  }
}
