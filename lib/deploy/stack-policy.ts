/**
 * Stack policies: every stack denies `Update:Replace` and `Update:Delete` on its stateful resources,
 * so even an update made outside this tool cannot drop data by surprise. A replacement the operator
 * allowed with `--allow-replacement` is let through for that one execution, then denied again.
 */
import { ListStackResourcesCommand, SetStackPolicyCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { statefulResources } from './stateful.js';
import type { Template } from './templates.js';

export interface StackPolicy {
  readonly Statement: readonly Record<string, unknown>[];
}

/** Allow every update, except replacing or deleting the stateful resources not in `allow`. */
export function stackPolicyFor(template: Template, allow: readonly string[] = []): StackPolicy {
  const protectedIds = [...statefulResources(template).keys()].filter((id) => !allow.includes(id)).sort();
  const statement: Record<string, unknown>[] = [{ Effect: 'Allow', Action: 'Update:*', Principal: '*', Resource: '*' }];
  if (protectedIds.length) {
    statement.push({
      Effect: 'Deny',
      Action: ['Update:Replace', 'Update:Delete'],
      Principal: '*',
      Resource: protectedIds.map((id) => `LogicalResourceId/${id}`),
    });
  }
  return { Statement: statement };
}

/** Physical IDs of the root's nested stacks by logical ID. */
export async function nestedStackIds(cfn: CloudFormationClient, rootStack: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: rootStack, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.ResourceType === 'AWS::CloudFormation::Stack' && r.PhysicalResourceId && r.LogicalResourceId) ids.set(r.LogicalResourceId, r.PhysicalResourceId);
    }
    token = page.NextToken;
  } while (token);
  return ids;
}

export interface PolicyTarget {
  /** Stack name or ID. */
  readonly stack: string;
  /** How messages name it (`dcos-prod/Network`). @default stack */
  readonly label?: string;
  readonly template: Template;
  /** Logical IDs to let through this time. */
  readonly allow?: readonly string[];
}

export async function setStackPolicies(cfn: CloudFormationClient, targets: readonly PolicyTarget[]): Promise<void> {
  for (const { stack, template, allow } of targets) {
    await cfn.send(new SetStackPolicyCommand({ StackName: stack, StackPolicyBody: JSON.stringify(stackPolicyFor(template, allow)) }));
  }
}
