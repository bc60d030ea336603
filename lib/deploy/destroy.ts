/**
 * `npm run destroy`: delete the root stack (nested stacks go with it), refusing a protected stack
 * unless forced, and list what was retained: the resources with DeletionPolicy Retain that still
 * exist and cost money.
 */
import {
  DeleteStackCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  UpdateTerminationProtectionCommand,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation';
import { ModifyInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import { UserError } from '../errors.js';
import { interruptSignal, onInterrupt } from '../interrupt.js';
import { parseTemplate } from '../yaml.js';
import { awsErrorMessage, awsErrorName, type AwsClients } from './aws.js';
import { followStack, isFailure, rootCauses, type RootCause } from './progress.js';
import { describeStack } from './stack-state.js';
import type { Template, TemplateResource } from './templates.js';

export interface DestroyProps {
  readonly clients: AwsClients;
  readonly stackName: string;
  /** Turn termination protection off first. @default false */
  readonly force?: boolean;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly print: (line: string) => void;
  /** @default 5000 */
  readonly eventPollMs?: number;
}

export interface RetainedResource {
  /** Stack path, `Root/Network`. */
  readonly stack: string;
  readonly logicalId: string;
  readonly resourceType: string;
  readonly physicalId: string;
}

export type DestroyResult =
  | { readonly kind: 'absent'; readonly stackName: string }
  | { readonly kind: 'declined'; readonly stackName: string }
  | { readonly kind: 'destroyed'; readonly stackName: string; readonly retained: readonly RetainedResource[] }
  | {
      readonly kind: 'failed';
      readonly stackName: string;
      readonly status: string;
      readonly rootCauses: readonly RootCause[];
      /** What destroy turned off and, the delete having failed, turned back on for what is left (a line each). */
      readonly restored?: readonly string[];
    };

/**
 * Deletion policies that keep the resource when its stack is deleted. RetainExceptOnCreate deletes it only
 * when the stack's first create rolls back; a stack that destroy deletes was created, so it keeps it too.
 * (CloudFormation User Guide, "DeletionPolicy attribute".)
 */
const RETAINING = new Set(['Retain', 'RetainExceptOnCreate']);

/**
 * The resources of the stack and its nested stacks that still exist and whose template declaration
 * `keep` accepts, with their physical IDs.
 */
async function declaredResources(
  cfn: CloudFormationClient,
  stack: string,
  path: string,
  keep: (declared: TemplateResource | undefined) => boolean,
): Promise<RetainedResource[]> {
  let body: string | undefined;
  try {
    body = (await cfn.send(new GetTemplateCommand({ StackName: stack, TemplateStage: 'Original' }))).TemplateBody;
  } catch (err) {
    // A nested stack already gone (a failed update can leave one behind in the list) holds nothing.
    if (awsErrorName(err) === 'ValidationError' && /does not exist/.test(awsErrorMessage(err))) return [];
    throw err;
  }
  const template = (body ? parseTemplate(body) : {}) as Template;
  const found: RetainedResource[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) {
      const id = r.LogicalResourceId ?? '?';
      if (r.ResourceType === 'AWS::CloudFormation::Stack' && r.PhysicalResourceId) {
        found.push(...(await declaredResources(cfn, r.PhysicalResourceId, `${path}/${id}`, keep)));
      } else if (keep(template.Resources?.[id]) && r.PhysicalResourceId && !/DELETE_COMPLETE/.test(r.ResourceStatus ?? '')) {
        found.push({ stack: path, logicalId: id, resourceType: r.ResourceType ?? '?', physicalId: r.PhysicalResourceId });
      }
    }
    token = page.NextToken;
  } while (token);
  return found;
}

/** Resources kept by their DeletionPolicy (Retain, RetainExceptOnCreate) in the stack and its nested stacks, with their physical IDs. */
export function retainedResources(cfn: CloudFormationClient, stack: string, path: string): Promise<RetainedResource[]> {
  return declaredResources(cfn, stack, path, (declared) => RETAINING.has(String(declared?.DeletionPolicy)));
}

/**
 * Instances the templates give termination protection (`DisableApiTermination: true`): CloudFormation
 * cannot delete them until it is turned off.
 */
export function protectedInstances(cfn: CloudFormationClient, stack: string, path: string): Promise<RetainedResource[]> {
  return declaredResources(cfn, stack, path, (d) => d?.Type === 'AWS::EC2::Instance' && String(d.Properties?.['DisableApiTermination']) === 'true');
}

export async function destroy({ clients, stackName, force = false, confirm, print, eventPollMs }: DestroyProps): Promise<DestroyResult> {
  const { cfn } = clients;

  // 1. Is there a stack, and is it protected?
  const stack = await describeStack(cfn, stackName);
  if (!stack) return { kind: 'absent', stackName };
  const stackId = stack.StackId ?? stackName;
  const again = `run 'npm run destroy -- --stack-name ${stackName}' again to follow it to the end and list what was retained.`;
  const follow = async (since: Date, retained: RetainedResource[], loosened?: Loosening): Promise<DestroyResult> => {
    const stopReporting = onInterrupt(() => print(`  CloudFormation keeps deleting stack ${stackName}; nothing was cancelled. To follow it, ${again}`));
    const followed = await followStack({ cfn, stack: stackId, since, print, resumeHint: `Once that is fixed, ${again}`, ...(eventPollMs ? { pollMs: eventPollMs } : {}) });
    stopReporting();
    if (followed.status !== 'DELETE_COMPLETE' || isFailure(followed.status)) {
      // DELETE_FAILED: the stack and some of its instances are still there; they get their protections back.
      const restored = loosened ? await loosened.putBack() : [];
      return { kind: 'failed', stackName, status: followed.status, rootCauses: rootCauses(followed.events), ...(restored.length ? { restored } : {}) };
    }
    return { kind: 'destroyed', stackName, retained };
  };
  if (stack.StackStatus === 'DELETE_IN_PROGRESS') {
    print(`Stack ${stackName} is already being deleted (an earlier destroy, or someone else); following it.`);
    return follow(stack.LastUpdatedTime ?? new Date(), await retainedResources(cfn, stackId, stackName).catch(() => []));
  }
  if (stack.StackStatus?.endsWith('_IN_PROGRESS') && stack.StackStatus !== 'REVIEW_IN_PROGRESS') {
    throw new UserError(`Stack ${stackName} is ${stack.StackStatus}: another operation is running. Wait for it to finish, then run destroy again.`);
  }
  if (stack.EnableTerminationProtection && !force) {
    throw new UserError(`Stack ${stackName} has termination protection on. To delete it anyway, run destroy again with --force (it turns protection off first).`);
  }

  // 2. What will stay behind, then confirm.
  const retained = await retainedResources(cfn, stackId, stackName);
  const guarded = await protectedInstances(cfn, stackId, stackName);
  print(`Deleting stack ${stackName} (${stack.StackStatus}) and its nested stacks.`);
  if (guarded.length) print(`${guarded.length} instance(s) have termination protection (${guarded.map((g) => `${g.stack}/${g.logicalId}`).join(', ')}); it is turned off for exactly these before deleting.`);
  if (retained.length) print(`${retained.length} resource(s) have a DeletionPolicy that keeps them (Retain, RetainExceptOnCreate) and will be kept (their data survives; they still cost money).`);
  if (!(await confirm(`Delete stack ${stackName}?`))) return { kind: 'declined', stackName };

  // 3. Protections off (the stack's, forced, and the instances'), delete, follow. Until CloudFormation has accepted
  //    the delete, an interrupt or a failure (a refused call, the delete itself refused) puts back everything loosened.
  const loosening = new Loosening(print);
  const putBackOnInterrupt = onInterrupt(async () => {
    if (await loosening.deleteAccepted()) {
      print(`  CloudFormation keeps deleting stack ${stackName}; nothing was cancelled. To follow it, ${again}`);
      return;
    }
    for (const line of await loosening.putBack()) print(`  ${line}`);
    print(`  Stack ${stackName} was not deleted.`);
  });
  const since = new Date();
  try {
    if (stack.EnableTerminationProtection) {
      await loosening.loosen(
        () => cfn.send(new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: false })),
        () => cfn.send(new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: true })),
        `Termination protection turned off on ${stackName} (--force).`,
        `Termination protection turned back on on ${stackName}.`,
      );
    }
    for (const instance of guarded) {
      const where = `${instance.stack}/${instance.logicalId} (${instance.physicalId})`;
      const protection = (on: boolean) => () => clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instance.physicalId, DisableApiTermination: { Value: on } }));
      // After a failed delete, an instance CloudFormation did terminate has nothing to put back.
      const putBack = async () => {
        try {
          await protection(true)();
          return undefined;
        } catch (err) {
          if (/IncorrectInstanceState|InvalidInstanceID|terminated/i.test(err instanceof Error ? `${err.name} ${err.message}` : String(err))) return `${where} was terminated; nothing to put back.`;
          throw err;
        }
      };
      await loosening.loosen(protection(false), putBack, `Instance termination protection (DisableApiTermination) turned off on ${where}.`, `Instance termination protection turned back on on ${where}.`);
    }
    await loosening.delete(() => cfn.send(new DeleteStackCommand({ StackName: stackId })));
  } catch (err) {
    if (interruptSignal() !== undefined) throw err; // the interrupt handler puts everything back
    putBackOnInterrupt();
    const lines = await loosening.putBack();
    const did = `${lines.length ? `${lines.join('\n')}\n` : ''}Stack ${stackName} was not deleted.`;
    if (err instanceof UserError) throw new UserError(`${err.message}\n${did}`, err.exitCode);
    print(did);
    throw err;
  }
  putBackOnInterrupt();
  return follow(since, retained, loosening);
}

/**
 * What destroy turned off before deleting, and how to turn each back on. Each undo is recorded before its call is
 * sent, and putting back first waits for the call in flight, so an interrupt at any moment restores exactly what
 * may have been loosened.
 */
class Loosening {
  private readonly undo: { readonly call: () => Promise<unknown>; readonly said: string }[] = [];
  private inFlight: Promise<unknown> = Promise.resolve();
  private deleting: Promise<unknown> | undefined;

  constructor(private readonly print: (line: string) => void) {}

  /** Sends `off`, recording `on` to undo it (`on` may answer a line of its own instead of `undone`); prints `said` once it is done. */
  async loosen(off: () => Promise<unknown>, on: () => Promise<unknown>, said: string, undone: string): Promise<void> {
    this.undo.push({ call: on, said: undone });
    this.inFlight = (async () => off())();
    await this.inFlight;
    this.print(said);
  }

  /** Sends the delete; from its answer on, nothing is put back. */
  async delete(call: () => Promise<unknown>): Promise<void> {
    this.deleting = (async () => call())();
    await this.deleting;
  }

  /** True once CloudFormation accepted the delete (waits for a delete call in flight). */
  async deleteAccepted(): Promise<boolean> {
    return this.deleting !== undefined && (await this.deleting.then(() => true, () => false));
  }

  /**
   * Turns back on everything loosened, newest first, after the call in flight; returns a line per step (one that
   * fails says so and what to do, and the rest still run).
   */
  async putBack(): Promise<string[]> {
    await this.inFlight.catch(() => undefined);
    const lines: string[] = [];
    for (const { call, said } of this.undo.splice(0).reverse()) {
      try {
        const answer = await call();
        lines.push(typeof answer === 'string' ? answer : said);
      } catch (err) {
        lines.push(`Could not put back: ${said.replace(/\.$/, '')} (${(err instanceof Error ? err.message : String(err)).split('\n')[0]}). Do it in the console.`);
      }
    }
    return lines;
  }
}
