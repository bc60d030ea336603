/**
 * Before anything is written: what state is the stack in, and may we go on? A new stack (or one in
 * REVIEW_IN_PROGRESS) gets a CREATE change set, a settled one an UPDATE. A stack with an operation in
 * progress is waited for, never trampled; a failed one is explained (and, for a failed first create,
 * replaced on request).
 */
import { DeleteStackCommand, DescribeStacksCommand, type CloudFormationClient, type Stack } from '@aws-sdk/client-cloudformation';
import { UserError } from '../errors.js';
import { awsErrorMessage, awsErrorName } from './aws.js';
import type { ChangeSetType } from './change-set.js';
import { followStack, isSettled } from './progress.js';

/** The stack, or undefined when there is none (or only a deleted one). */
export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<Stack | undefined> {
  try {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
  } catch (err) {
    if (awsErrorName(err) === 'ValidationError' && /does not exist/.test(awsErrorMessage(err))) return undefined;
    throw err;
  }
}

export interface StackStateProps {
  readonly cfn: CloudFormationClient;
  readonly stackName: string;
  readonly print: (line: string) => void;
  /** Delete a stack whose first create failed and create it again. @default false */
  readonly replaceFailed?: boolean;
  /** @default 5000 */
  readonly pollMs?: number;
  /** How long to wait for another operation to finish. @default 4 hours */
  readonly waitTimeoutMs?: number;
}

export interface StackState {
  readonly type: ChangeSetType;
  /** The deployed stack for an UPDATE. */
  readonly stack?: Stack;
  /** An empty stack in REVIEW_IN_PROGRESS that a CREATE reuses (this run did not create it). */
  readonly reviewStack?: Stack;
}

const FAILED_CREATE = ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED'];

/** Decides CREATE or UPDATE, waiting out an operation in progress; throws a UserError for a stuck stack. */
export async function checkStackState({ cfn, stackName, print, replaceFailed = false, pollMs, waitTimeoutMs }: StackStateProps): Promise<StackState> {
  let stack = await describeStack(cfn, stackName);
  if (stack && !isSettled(stack.StackStatus) && stack.StackStatus !== 'REVIEW_IN_PROGRESS') {
    print(`Stack ${stackName} is ${stack.StackStatus}: another operation is running. Waiting for it to finish (it is not touched).`);
    const settled = await followStack({
      cfn,
      stack: stack.StackId ?? stackName,
      since: new Date(),
      print,
      resumeHint: 'Run the command again once it has finished.',
      ...(pollMs ? { pollMs } : {}),
      ...(waitTimeoutMs ? { timeoutMs: waitTimeoutMs } : {}),
    });
    stack = settled.stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : settled.stack;
    print(`Stack ${stackName} is now ${stack?.StackStatus ?? 'deleted'}.`);
  }
  const status = stack?.StackStatus;
  if (stack === undefined) return { type: 'CREATE' };
  if (status === 'REVIEW_IN_PROGRESS') return { type: 'CREATE', reviewStack: stack };
  if (FAILED_CREATE.includes(status ?? '')) {
    if (!replaceFailed) {
      throw new UserError(
        `Stack ${stackName} is ${status}: its first create failed and was rolled back, so it holds no cluster and cannot be updated.\n` +
          `See why with 'aws cloudformation describe-stack-events --stack-name ${stackName}', fix the cause, then run deploy again with --replace-failed (deletes the failed stack and creates it anew).`,
      );
    }
    print(`Stack ${stackName} is ${status} (its first create failed). Deleting it to create it again (--replace-failed).`);
    await cfn.send(new DeleteStackCommand({ StackName: stack.StackId ?? stackName }));
    const deleted = await followStack({ cfn, stack: stack.StackId ?? stackName, since: new Date(), print, ...(pollMs ? { pollMs } : {}) });
    if (deleted.status !== 'DELETE_COMPLETE') {
      throw new UserError(`Could not delete the failed stack ${stackName} (it is ${deleted.status}). Delete it in the console, then deploy again.`);
    }
    return { type: 'CREATE' };
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    throw new UserError(
      `Stack ${stackName} is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback; CloudFormation accepts no update until the rollback is finished.\n` +
        `Fix what blocked the rollback (see 'aws cloudformation describe-stack-events --stack-name ${stackName}'), then run:\n` +
        `  aws cloudformation continue-update-rollback --stack-name ${stackName}\n` +
        `(add --resources-to-skip LOGICAL_ID for resources that cannot be rolled back), wait for UPDATE_ROLLBACK_COMPLETE, and deploy again.`,
    );
  }
  if (status === 'DELETE_FAILED') {
    throw new UserError(`Stack ${stackName} is DELETE_FAILED: a delete did not finish. Run 'npm run destroy -- --stack-name ${stackName}' again, or fix the blocking resources in the console.`);
  }
  if (status?.endsWith('_FAILED')) {
    throw new UserError(`Stack ${stackName} is ${status} and cannot be updated. Look at its events in the CloudFormation console to recover it.`);
  }
  return { type: 'UPDATE', stack };
}
