/**
 * Our least-privilege and lifecycle rules, so what an outside review found stays fixed:
 * - DCOS.IAM.1: no role uses an AWS-managed policy (they grant more than a node needs and change under us);
 * - DCOS.IAM.2: an identity policy names no wildcard resource where the action takes a narrower ARN;
 * - DCOS.EC2.5: masters, the VPN gateway and the admin instance have termination protection.
 * They read the templates as written (`Fn::Sub` text included), since an ARN is mostly built from
 * deploy-time pieces like `${AWS::AccountId}` that resolve to nothing here.
 */
import { stackFinding, type Finding, type Rule } from './finding.js';
import type { Stack, TemplateSet } from './load.js';
import type { NetworkModel } from './model.js';
import { refOf } from './network.js';
import { isTrue, resolvedProperties } from './resolve.js';

/**
 * Actions that take no resource ARN (the Service Authorization Reference lists no resource types for them),
 * so `*` is the narrowest resource they accept. Session Manager's, as `stacks/compute.ts` grants them.
 */
export const NO_RESOURCE_ACTIONS: ReadonlySet<string> = new Set([
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
]);

/** Describe calls of these services take no resource ARN (EC2, EC2 Auto Scaling, Elastic Load Balancing). */
const DESCRIBE_ONLY = /^(ec2|autoscaling|elasticloadbalancing):Describe[A-Za-z]*$/;

/** Whether `*` is the narrowest resource an action accepts. */
export const takesNoResource = (action: string) => NO_RESOURCE_ACTIONS.has(action) || DESCRIBE_ONLY.test(action);

/**
 * The text of a template value as written: strings, `Fn::Sub` templates, `Fn::Join` with its references
 * shown as `<Name>`.
 */
function literalText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(literalText).join('');
  if (value === null || typeof value !== 'object') return '';
  const o = value as Record<string, unknown>;
  if (typeof o['Ref'] === 'string') return `<${o['Ref']}>`;
  const getAtt = o['Fn::GetAtt'];
  if (getAtt !== undefined) return `<${Array.isArray(getAtt) ? getAtt.join('.') : String(getAtt)}>`;
  const sub = o['Fn::Sub'];
  if (sub !== undefined) return literalText(Array.isArray(sub) ? sub[0] : sub);
  const join = o['Fn::Join'];
  if (Array.isArray(join)) return literalText(join[1]);
  return '';
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** Identity policy documents of a stack, by the resource that holds them. */
function policyDocuments(stack: Stack): { resource: string; statements: Record<string, unknown>[] }[] {
  return Object.entries(stack.template.Resources).flatMap(([id, r]) => {
    const props = r.Properties ?? {};
    const documents =
      r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::User' || r.Type === 'AWS::IAM::Group'
        ? list(props['Policies']).map((p) => (p as Record<string, unknown>)['PolicyDocument'])
        : r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
          ? [props['PolicyDocument']]
          : [];
    return documents.map((d) => ({ resource: id, statements: list((d as Record<string, unknown> | undefined)?.['Statement']) as Record<string, unknown>[] }));
  });
}

const noManagedPolicies: Rule = {
  id: 'DCOS.IAM.1',
  title: 'Roles use inline least-privilege policies, no AWS-managed policy',
  check: (set: TemplateSet) =>
    set.stacks.flatMap((stack) =>
      Object.entries(stack.template.Resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::User' || r.Type === 'AWS::IAM::Group')
        .flatMap(([id, r]) =>
          list(r.Properties?.['ManagedPolicyArns'])
            .map(literalText)
            .filter((arn) => /:iam::aws:policy\//.test(arn))
            .map((arn) => stackFinding(noManagedPolicies, stack, id, `attaches the AWS-managed policy ${arn.replace(/^.*:policy\//, '')}; grant the few actions needed in an inline policy instead`)),
        ),
    ),
};

const noWildcardResources: Rule = {
  id: 'DCOS.IAM.2',
  title: 'Identity policies name no wildcard resource where the action takes a narrower ARN',
  check: (set: TemplateSet) =>
    set.stacks.flatMap((stack) =>
      policyDocuments(stack).flatMap(({ resource, statements }) =>
        statements
          .filter((s) => s['Effect'] === 'Allow')
          .flatMap((s): Finding[] => {
            const actions = list(s['Action']).map(String);
            if (s['NotResource'] !== undefined) return [stackFinding(noWildcardResources, stack, resource, `allows ${actions.join(', ')} on everything but NotResource; name the resources instead`)];
            const narrowable = actions.filter((a) => !takesNoResource(a));
            const wild = list(s['Resource']).map(literalText).filter((r) => r.includes('*'));
            return narrowable.length && wild.length
              ? [stackFinding(noWildcardResources, stack, resource, `allows ${narrowable.join(', ')} on ${wild.join(', ')}; name the exact ARN (a bucket key, a key ID, a log group)`)]
              : [];
          }),
      ),
    ),
};

const PROTECTED_ROLES = ['master', 'vpn', 'admin'];

const terminationProtection: Rule = {
  id: 'DCOS.EC2.5',
  title: 'Masters, the VPN gateway and the admin instance have termination protection',
  check: (set: TemplateSet, network: NetworkModel) =>
    network.groups
      .filter((g) => g.type === 'AWS::EC2::Instance' && PROTECTED_ROLES.includes(g.role))
      .flatMap((g) => {
        const ref = refOf(set, g);
        if (isTrue(resolvedProperties(ref)['DisableApiTermination'])) return [];
        return [stackFinding(terminationProtection, ref.stack, ref.id, `${g.role} instance can be terminated by an API call; set DisableApiTermination: true (npm run destroy turns it off before deleting)`)];
      }),
};

/** The rules of this file, in report order. */
export const PRIVILEGE_RULES: readonly Rule[] = [noManagedPolicies, noWildcardResources, terminationProtection];
