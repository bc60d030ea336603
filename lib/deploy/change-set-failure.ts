/**
 * Why a change set failed, in one screen. The root change set often says only "Nested change set ... was not
 * successfully created: Currently in FAILED" or "The following hook(s)/validation failed: [...]. To
 * troubleshoot Early Validation errors, use the DescribeEvents API": the real reasons are in the nested
 * change sets' status reasons and in CloudFormation's pre-deployment validation events for each change set
 * (`DescribeEvents` with its name: property syntax errors with their template path, name conflicts with
 * existing resources, non-empty buckets, and the other validation types).
 * Sources: CloudFormation User Guide, "Validate stack deployments"; API reference, DescribeEvents, OperationEvent.
 */
import { DescribeChangeSetCommand, DescribeEventsCommand, type CloudFormationClient, type DescribeChangeSetCommandOutput, type OperationEvent } from '@aws-sdk/client-cloudformation';
import { InterruptedError } from '../interrupt.js';

/** A change set ARN inside a status reason. */
const CHANGE_SET_ARN = /arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d+:changeSet\/[A-Za-z0-9-]+\/[0-9a-f-]+/g;

/** At most this many cause lines, so the explanation fits one screen. */
const MAX_LINES = 12;

export interface FailedChangeSetExplanation {
  /** One line per cause, `Network/FlowLogs (AWS::Logs::LogGroup): NAME_CONFLICT_VALIDATION: ...`. */
  readonly causes: readonly string[];
  /** What to do about them. */
  readonly advice: string;
}

function validationLine(where: string, e: OperationEvent): string {
  const resource = e.LogicalResourceId ? `${where}/${e.LogicalResourceId}${e.ResourceType ? ` (${e.ResourceType})` : ''}` : where;
  const kind = e.ValidationName ?? e.EventType ?? 'error';
  const at = e.ValidationPath ? ` [at ${e.ValidationPath}]` : '';
  const mode = e.ValidationFailureMode === 'WARN' ? ' (warning)' : '';
  const reason = e.ValidationStatusReason ?? e.HookStatusReason ?? e.ResourceStatusReason ?? 'no reason given';
  return `${resource}: ${kind}${mode}: ${reason}${at}`;
}

/** The nested stack's logical ID from its generated stack name (`prod-Network-1ABCDEF` → `Network`). */
function nestedId(rootStack: string, described: DescribeChangeSetCommandOutput): string {
  const name = described.StackName ?? '';
  const match = new RegExp(`^${rootStack.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-([A-Za-z0-9]+)-[A-Za-z0-9]+$`).exec(name);
  return match?.[1] ?? (name || described.ChangeSetName || 'nested');
}

/**
 * Reads the failed change set's nested change sets and validation events (read calls only). A failing read
 * becomes a note in the explanation; an interrupt stops it.
 */
export async function explainFailedChangeSet(cfn: CloudFormationClient, rootStack: string, failed: DescribeChangeSetCommandOutput, failedId = failed.ChangeSetId): Promise<FailedChangeSetExplanation> {
  const causes: string[] = [];
  const notes = new Set<string>();
  const note = (err: unknown, what: string) => {
    if (err instanceof InterruptedError) throw err;
    notes.add(`(${what} could not be read: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]})`);
  };

  const validationEvents = async (changeSet: string, where: string) => {
    let token: string | undefined;
    try {
      for (let page = 0; page < 5; page++) {
        const out = await cfn.send(new DescribeEventsCommand({ ChangeSetName: changeSet, Filters: { FailedEvents: true }, NextToken: token }));
        for (const e of out.OperationEvents ?? []) {
          if (e.EventType === 'VALIDATION_ERROR' || e.EventType === 'HOOK_INVOCATION_ERROR' || e.EventType === 'PROVISIONING_ERROR' || e.ValidationStatus === 'FAILED') causes.push(validationLine(where, e));
        }
        token = out.NextToken;
        if (!token) break;
      }
    } catch (err) {
      note(err, "CloudFormation's validation events (DescribeEvents; the identity may lack cloudformation:DescribeEvents)");
    }
  };

  const visit = async (described: DescribeChangeSetCommandOutput, id: string | undefined, where: string, depth: number) => {
    const reason = described.StatusReason ?? 'no reason given';
    const nested = [...new Set([...reason.matchAll(CHANGE_SET_ARN)].map((m) => m[0]))];
    for (const change of described.Changes ?? []) {
      const id = change.ResourceChange?.ChangeSetId;
      if (change.ResourceChange?.ResourceType === 'AWS::CloudFormation::Stack' && id && !nested.includes(id)) nested.push(id);
    }
    const before = causes.length;
    if (id) await validationEvents(id, where);
    for (const arn of depth < 4 ? nested : []) {
      try {
        const child = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: arn }));
        if (child.Status === 'FAILED') await visit(child, child.ChangeSetId ?? arn, `${where}/${nestedId(rootStack, child)}`, depth + 1);
      } catch (err) {
        note(err, `nested change set ${arn}`);
      }
    }
    // The reason itself, unless it only points at nested change sets or validation events already listed.
    const echo = /Nested change set .* was not successfully created|use the DescribeEvents API/i.test(reason);
    if (!echo || causes.length === before) causes.splice(before, 0, `${where}: ${reason}`);
  };

  await visit(failed, failed.ChangeSetId ?? failedId, rootStack, 0);
  const unique = [...new Set(causes)];
  const shown = unique.slice(0, MAX_LINES);
  if (unique.length > shown.length) {
    shown.push(`... and ${unique.length - shown.length} more: aws cloudformation describe-events --change-set-name ${failed.ChangeSetId ?? failedId}`);
  }
  const text = unique.join('\n');
  const advice = /NAME_CONFLICT|already exists/i.test(text)
    ? 'A resource with that name already exists outside this stack: delete it (or rename it in the definition), then synth and deploy again.'
    : /BUCKET_EMPTINESS|not empty/i.test(text)
      ? 'Empty the bucket first (or keep it: it must stay in the template), then deploy again.'
      : "Fix the causes above (a template problem: change the definition, 'npm run synth', 'npm run lint'), then deploy again.";
  return { causes: [...shown, ...notes], advice };
}
