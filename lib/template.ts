/**
 * Typed helpers over cloudform-types for writing templates as plain objects.
 *
 * Property types come from cloudform-types as type-only imports (erased at run time, so synth does not pay
 * for loading the resource classes); intrinsics come from cloudform-types' functions. `resource()` ties each
 * resource type name to its property interface, so a typo in a property name fails the type check.
 */
import { IntrinsicFunction, type Value } from 'cloudform-types/types/dataTypes.js';
import { GetAtt, Ref } from 'cloudform-types/types/functions.js';
import type * as OutputModule from 'cloudform-types/types/output.js';
import type * as ParameterModule from 'cloudform-types/types/parameter.js';
import type * as ResourceModule from 'cloudform-types/types/resource.js';
import type * as TemplateModule from 'cloudform-types/types/template.js';
import type { AutoScaling } from 'cloudform-types/types/autoScaling/index.namespace.js';
import type { CloudFormation } from 'cloudform-types/types/cloudFormation/index.namespace.js';
import type { EC2 } from 'cloudform-types/types/ec2/index.namespace.js';
import type { ElasticLoadBalancingV2 } from 'cloudform-types/types/elasticLoadBalancingV2/index.namespace.js';
import type { IAM } from 'cloudform-types/types/iam/index.namespace.js';
import type { KMS } from 'cloudform-types/types/kms/index.namespace.js';
import type { Logs } from 'cloudform-types/types/logs/index.namespace.js';
import type { S3 } from 'cloudform-types/types/s3/index.namespace.js';
import type { SSM } from 'cloudform-types/types/ssm/index.namespace.js';

// cloudform-types is CommonJS: under NodeNext its default-exported interfaces sit on `.default`.
type Output = OutputModule.default;
type Parameter = ParameterModule.default;
type Resource = ResourceModule.default;
type Template = TemplateModule.default;

export { GetAtt, IntrinsicFunction, Ref };
export type { Output, Parameter, Value };

/** Intrinsics in the forms this project writes (cloudform-types' `Sub` always takes a variables map). */
export const Fn = {
  sub: (template: string, vars?: Record<string, Value<string>>) => new IntrinsicFunction('Fn::Sub', vars ? [template, vars] : template),
  join: (delimiter: string, values: readonly Value<string>[]) => new IntrinsicFunction('Fn::Join', [delimiter, values]),
  select: (index: number, list: Value<string> | readonly Value<string>[]) => new IntrinsicFunction('Fn::Select', [index, list]),
  split: (delimiter: string, source: Value<string>) => new IntrinsicFunction('Fn::Split', [delimiter, source]),
  base64: (value: Value<string>) => new IntrinsicFunction('Fn::Base64', value),
  equals: (a: Value<string>, b: Value<string>) => new IntrinsicFunction('Fn::Equals', [a, b]),
  /** The `index`-th Availability Zone of the region. The network and master-zone stacks must agree on it. */
  az: (index: number) => new IntrinsicFunction('Fn::Select', [index, new IntrinsicFunction('Fn::GetAZs', '')]),
};

/**
 * AWS::EC2::SubnetCidrReservation, which cloudform-types 7.5 does not have (CloudFormation User Guide,
 * "AWS::EC2::SubnetCidrReservation"): `explicit` keeps EC2 from assigning the range's addresses by itself.
 */
export interface SubnetCidrReservationProps {
  readonly SubnetId: Value<string>;
  readonly Cidr: Value<string>;
  readonly ReservationType: 'explicit' | 'prefix';
  readonly Description?: Value<string>;
}

/** Resource types this project writes, with their cloudform-types property interfaces. */
export interface ResourceProps {
  'AWS::AutoScaling::AutoScalingGroup': AutoScaling.AutoScalingGroup['Properties'];
  'AWS::CloudFormation::Stack': CloudFormation.Stack['Properties'];
  'AWS::EC2::EIP': EC2.EIP['Properties'];
  'AWS::EC2::EIPAssociation': EC2.EIPAssociation['Properties'];
  'AWS::EC2::FlowLog': EC2.FlowLog['Properties'];
  'AWS::EC2::Instance': EC2.Instance['Properties'];
  'AWS::EC2::InternetGateway': EC2.InternetGateway['Properties'];
  'AWS::EC2::LaunchTemplate': EC2.LaunchTemplate['Properties'];
  'AWS::EC2::NatGateway': EC2.NatGateway['Properties'];
  'AWS::EC2::NetworkInterface': EC2.NetworkInterface['Properties'];
  'AWS::EC2::Route': EC2.Route['Properties'];
  'AWS::EC2::RouteTable': EC2.RouteTable['Properties'];
  'AWS::EC2::SecurityGroup': EC2.SecurityGroup['Properties'];
  'AWS::EC2::SecurityGroupIngress': EC2.SecurityGroupIngress['Properties'];
  'AWS::EC2::Subnet': EC2.Subnet['Properties'];
  'AWS::EC2::SubnetCidrReservation': SubnetCidrReservationProps;
  'AWS::EC2::SubnetRouteTableAssociation': EC2.SubnetRouteTableAssociation['Properties'];
  'AWS::EC2::Volume': EC2.Volume['Properties'];
  'AWS::EC2::VPC': EC2.VPC['Properties'];
  'AWS::EC2::VPCEndpoint': EC2.VPCEndpoint['Properties'];
  'AWS::EC2::VPCGatewayAttachment': EC2.VPCGatewayAttachment['Properties'];
  'AWS::ElasticLoadBalancingV2::Listener': ElasticLoadBalancingV2.Listener['Properties'];
  'AWS::ElasticLoadBalancingV2::LoadBalancer': ElasticLoadBalancingV2.LoadBalancer['Properties'];
  'AWS::ElasticLoadBalancingV2::TargetGroup': ElasticLoadBalancingV2.TargetGroup['Properties'];
  'AWS::IAM::InstanceProfile': IAM.InstanceProfile['Properties'];
  'AWS::IAM::Role': IAM.Role['Properties'];
  'AWS::KMS::Key': KMS.Key['Properties'];
  'AWS::Logs::LogGroup': Logs.LogGroup['Properties'];
  'AWS::S3::Bucket': S3.Bucket['Properties'];
  'AWS::S3::BucketPolicy': S3.BucketPolicy['Properties'];
  'AWS::SSM::Parameter': SSM.Parameter['Properties'];
}

export type ResourceType = keyof ResourceProps;

/** The resource attributes CloudFormation knows, including UpdateReplacePolicy (missing in cloudform-types). */
export type CfnResource = Omit<Resource, 'DeletionPolicy'> & {
  readonly DeletionPolicy?: 'Delete' | 'Retain' | 'Snapshot' | 'RetainExceptOnCreate';
  readonly UpdateReplacePolicy?: 'Delete' | 'Retain' | 'Snapshot';
};

export type ResourceAttributes = Omit<CfnResource, 'Type' | 'Properties'>;

/** A template rule: assertions CloudFormation checks before it creates or updates anything (User Guide, "Rules"). */
export interface TemplateRule {
  readonly RuleCondition?: IntrinsicFunction;
  readonly Assertions: readonly { readonly Assert: IntrinsicFunction; readonly AssertDescription: string }[];
}

/** A whole template. Typed with this (`: StackTemplate`), never cast to it. */
export type StackTemplate = Omit<Template, 'Resources' | 'Outputs' | 'Parameters'> & {
  readonly Parameters?: Record<string, Parameter>;
  readonly Rules?: Record<string, TemplateRule>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, Output>;
};

export function resource<T extends ResourceType>(Type: T, Properties: ResourceProps[T], attributes: ResourceAttributes = {}): CfnResource {
  return { Type, ...attributes, Properties };
}

/**
 * For everything that holds data: kept when its stack is deleted and when an update replaces it, but deleted when
 * the create that made it fails and rolls back (a failed first create keeps nothing: no VPC, key, log group,
 * volume or bucket per attempt). `RetainExceptOnCreate` exists for `DeletionPolicy` only; `UpdateReplacePolicy`
 * takes `Delete`, `Retain` or `Snapshot` (CloudFormation User Guide, "DeletionPolicy attribute" and
 * "UpdateReplacePolicy attribute"), so a replacement keeps the old resource with `Retain`.
 */
export const RETAIN = { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' } as const satisfies ResourceAttributes;

/** The tag key that names a compute resource's DC/OS role; the audit, the diagram, deploy's data gate and drift read it. */
export const ROLE_TAG = 'dcos:role';

/**
 * The value of the {@link ROLE_TAG} tag in a `Tags` list (`[{ Key, Value }]`, as a template or AWS gives it), or
 * undefined: no such tag, a value that is not a string, or `tags` not a list. The one reader of the role tag.
 */
export function taggedRole(tags: unknown): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  const tag: unknown = tags.find((t: unknown) => t !== null && typeof t === 'object' && (t as { Key?: unknown }).Key === ROLE_TAG);
  const value = (tag as { Value?: unknown } | undefined)?.Value;
  return typeof value === 'string' ? value : undefined;
}

export type NodeRole = 'master' | 'private-agent' | 'public-agent' | 'vpn' | 'admin';

export interface Tag {
  readonly Key: string;
  readonly Value: Value<string>;
}

/** Standard tags: `Name` (`<cluster>-<name>`) and, for compute, the DC/OS role. */
export function tags(cluster: string, name: string, role?: NodeRole): Tag[] {
  const list: Tag[] = [{ Key: 'Name', Value: `${cluster}-${name}` }];
  if (role) list.push({ Key: ROLE_TAG, Value: role });
  return list;
}

/** `{ Key, Value, PropagateAtLaunch: true }` tags for an auto scaling group. */
export function asgTags(cluster: string, name: string, role: NodeRole) {
  return tags(cluster, name, role).map((t) => ({ ...t, PropagateAtLaunch: true }));
}

/**
 * The root template's Metadata key that names, for a parameter, the parameter whose value it takes when the stack is
 * created without a value for it (`{ "MasterImageId": "NodeImageId" }`). CloudFormation has no such default; deploy
 * applies it, once: afterwards each parameter keeps its own deployed value.
 */
export const PARAMETER_DEFAULTS_KEY = 'dcos:parameterDefaults';

/** The resource Metadata key holding waivers (`{ "<rule ID>": "<reason>" }`); the audit lists each one. */
export const WAIVERS_KEY = 'dcos:waivers';

/**
 * Waives audit rules for one resource, each with its written reason. Only operational-choice rules can be
 * waived (the audit's `WAIVABLE_RULES`); a waiver of a hardening rule is itself an audit finding.
 */
export function waive(reasons: Readonly<Record<string, string>>): Pick<ResourceAttributes, 'Metadata'> {
  return { Metadata: { [WAIVERS_KEY]: reasons } };
}

/** A string parameter. */
export function stringParameter(Description: string, extra: Partial<Parameter> = {}): Parameter {
  return { Type: 'String', Description, ...extra };
}

/** An output with a description. */
export function output(Description: string, Value: Value<string>): Output {
  return { Description, Value };
}
