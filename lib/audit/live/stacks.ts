/**
 * The deployed stacks of a cluster: the root and every nested stack below it (the parent's
 * `AWS::CloudFormation::Stack` resources, whose physical ID is the child's ARN), each stack's logical
 * resources with their physical IDs (ListStackResources, every page), and each stack's deployed
 * template (GetTemplate), loaded as a template set the audit analyses like `out/`. The root's deployed
 * parameter values stand in for its defaults, so the template side sees what was deployed.
 *
 * Stacks are named as the template audit names them: `Root` for the root, the logical-ID path for a
 * nested stack (`Network`, `Network/Inner`); a stack's `file` is its CloudFormation stack name.
 */
import { DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { UserError } from '../../errors.js';
import { parseTemplate, TemplateParseError } from '../../yaml.js';
import { NESTED_STACK_TYPE, type Stack, type Template, type TemplateSet } from '../load.js';
import type { LiveClients, LiveReader } from './aws.js';

export const ROOT_STACK = 'Root';

export interface DeployedResource {
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
}

export interface DeployedStack {
  /** `Root`, or the logical-ID path below the root (`Network`, `Network/Inner`). */
  readonly path: string;
  /** The CloudFormation stack name (a nested stack's is generated: `dcos-prod-Network-1Q2W3E4R5T6Y`). */
  readonly stackName: string;
  readonly stackId: string;
  /** Resources that exist (not being deleted, not failed to create), with a physical ID. */
  readonly resources: readonly DeployedResource[];
}

/** Where a physical resource is in the stacks. */
export interface Owner {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
}

export interface DeployedCluster {
  /** The root stack's name as given. */
  readonly stackName: string;
  /** The root stack's status (`UPDATE_COMPLETE`, `UPDATE_IN_PROGRESS`, ...). */
  readonly status: string;
  /** Root first, parents before children. */
  readonly stacks: readonly DeployedStack[];
  /** The deployed templates as a template set (stack names as above). */
  readonly templates: TemplateSet;
  /** The physical ID of a stack's logical resource. */
  physicalId(stack: string, logicalId: string): string | undefined;
  /** The stack resource a physical ID belongs to. */
  ownerOf(physicalId: string): Owner | undefined;
  /** Physical IDs of every resource of these types, with their owners. */
  ofType(...types: string[]): (DeployedResource & { readonly stack: string })[];
}

const GONE = /^(DELETE_COMPLETE|CREATE_FAILED|DELETE_IN_PROGRESS)$/;

/** Reads the root stack, its nested stacks, their resources and templates. */
export async function readDeployedCluster(clients: Pick<LiveClients, 'cfn' | 'region'>, reader: LiveReader, stackName: string): Promise<DeployedCluster> {
  const root = await describeRoot(clients, reader, stackName);
  const stacks: DeployedStack[] = [];
  const templates = new Map<string, Template>();
  const visit = async (path: string, stackId: string, name: string): Promise<void> => {
    const summaries = await listResources(clients, reader, stackId);
    const resources = summaries
      .filter((r) => r.PhysicalResourceId && r.LogicalResourceId && r.ResourceType && !GONE.test(r.ResourceStatus ?? ''))
      .map((r) => ({ logicalId: r.LogicalResourceId!, physicalId: r.PhysicalResourceId!, type: r.ResourceType! }));
    stacks.push({ path, stackName: name, stackId, resources });
    templates.set(path, await deployedTemplate(clients, reader, stackId, path));
    for (const nested of resources.filter((r) => r.type === NESTED_STACK_TYPE)) {
      await visit(path === ROOT_STACK ? nested.logicalId : `${path}/${nested.logicalId}`, nested.physicalId, stackNameOf(nested.physicalId));
    }
  };
  await visit(ROOT_STACK, root.stackId, root.stackName);
  const rootTemplate = withDeployedParameters(templates.get(ROOT_STACK)!, root.parameters);
  templates.set(ROOT_STACK, rootTemplate);
  return cluster(stackName, root.status, stacks, templateSet(stackName, stacks, templates));
}

async function describeRoot(clients: Pick<LiveClients, 'cfn' | 'region'>, reader: LiveReader, stackName: string) {
  let stack;
  try {
    stack = (await reader.call('cloudformation:DescribeStacks', (signal) => clients.cfn.send(new DescribeStacksCommand({ StackName: stackName }), { abortSignal: signal }))).Stacks?.[0];
  } catch (err) {
    if (err instanceof UserError && /does not exist/.test(err.message)) stack = undefined;
    else throw err;
  }
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE') {
    throw new UserError(`Stack ${stackName} does not exist in ${clients.region}. Check --stack-name and --region (or --profile).`);
  }
  const parameters = new Map((stack.Parameters ?? []).filter((p) => p.ParameterKey && p.ParameterValue !== undefined).map((p) => [p.ParameterKey!, p.ParameterValue!]));
  return { stackId: stack.StackId ?? stackName, stackName: stack.StackName ?? stackName, status: stack.StackStatus ?? 'UNKNOWN', parameters };
}

async function listResources(clients: Pick<LiveClients, 'cfn'>, reader: LiveReader, stackId: string): Promise<StackResourceSummary[]> {
  const all: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await reader.call('cloudformation:ListStackResources', (signal) =>
      clients.cfn.send(new ListStackResourcesCommand({ StackName: stackId, ...(token ? { NextToken: token } : {}) }), { abortSignal: signal }),
    );
    all.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  return all;
}

async function deployedTemplate(clients: Pick<LiveClients, 'cfn'>, reader: LiveReader, stackId: string, path: string): Promise<Template> {
  const body = (await reader.call('cloudformation:GetTemplate', (signal) => clients.cfn.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' }), { abortSignal: signal }))).TemplateBody;
  let template: Record<string, unknown>;
  try {
    template = parseTemplate(body ?? '', `the deployed template of stack ${path}`);
  } catch (err) {
    if (err instanceof TemplateParseError) throw new UserError(`GetTemplate returned no template the audit can read: ${err.message}.`);
    throw err;
  }
  const resources = template['Resources'];
  if (resources === null || typeof resources !== 'object') throw new UserError(`GetTemplate returned no template the audit can read: stack ${path}'s has no Resources section.`);
  return template as unknown as Template;
}

/**
 * The root template with the deployed parameter values as defaults (NoEcho values, which AWS returns
 * masked, keep their template default), so that values followed from the root are the deployed ones.
 */
function withDeployedParameters(template: Template, values: ReadonlyMap<string, string>): Template {
  const parameters = Object.fromEntries(
    Object.entries(template.Parameters ?? {}).map(([name, p]) => {
      const value = values.get(name);
      const masked = value === undefined || /^\*+$/.test(value);
      return [name, masked ? p : { ...p, Default: value }];
    }),
  );
  return { ...template, Parameters: parameters };
}

/** The stack name inside a stack ARN (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID`), or the ID as given. */
function stackNameOf(stackId: string): string {
  return /:stack\/([^/]+)\//.exec(stackId)?.[1] ?? stackId;
}

function templateSet(label: string, stacks: readonly DeployedStack[], templates: ReadonlyMap<string, Template>): TemplateSet {
  const byPath = new Map<string, Stack>();
  for (const deployed of stacks) {
    const slash = deployed.path.lastIndexOf('/');
    const parentPath = deployed.path === ROOT_STACK ? undefined : slash < 0 ? ROOT_STACK : deployed.path.slice(0, slash);
    const parent = parentPath === undefined ? undefined : byPath.get(parentPath);
    const logicalId = deployed.path.slice(slash + 1);
    const stack: Stack = {
      name: deployed.path,
      file: deployed.stackName,
      template: templates.get(deployed.path)!,
      ...(parent ? { parent: { stack: parent, logicalId } } : {}),
      children: new Map(),
    };
    parent?.children.set(logicalId, stack);
    byPath.set(deployed.path, stack);
  }
  const root = byPath.get(ROOT_STACK)!;
  return { label: `stack ${label} (deployed templates)`, roots: [root], stacks: [...byPath.values()] };
}

function cluster(stackName: string, status: string, stacks: readonly DeployedStack[], templates: TemplateSet): DeployedCluster {
  const physical = new Map<string, string>();
  const owners = new Map<string, Owner>();
  for (const s of stacks) {
    for (const r of s.resources) {
      physical.set(`${s.path}:${r.logicalId}`, r.physicalId);
      if (!owners.has(r.physicalId)) owners.set(r.physicalId, { stack: s.path, logicalId: r.logicalId, type: r.type });
    }
  }
  return {
    stackName,
    status,
    stacks,
    templates,
    physicalId: (stack, logicalId) => physical.get(`${stack}:${logicalId}`),
    ownerOf: (id) => owners.get(id),
    ofType: (...types) => stacks.flatMap((s) => s.resources.filter((r) => types.includes(r.type)).map((r) => ({ ...r, stack: s.path }))),
  };
}
