/**
 * The user-data programs exactly as synthesized: read from the template text synth writes to `out/` (parsed back
 * from YAML), and resolved the way CloudFormation's `Fn::Sub` resolves them at deploy time, with the values a
 * deploy would give. A `${...}` with no value is an error, never left in place.
 */
import { compile } from '../../lib/synth.js';
import { parseTemplate } from '../../lib/yaml.js';
import type { ClusterConfig } from '../../stacks/config.js';

export type Json = Record<string, any>;

export interface UserDataProgram {
  /** The nested stack's logical ID in the root (`MasterZone`, `Agents`, `Vpn`). */
  readonly stack: string;
  /** The resource that carries the user data (an instance or a launch template). */
  readonly id: string;
  /** The `Fn::Sub` text and its variables map. */
  readonly text: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** The template the program lives in (for its parameters and resources). */
  readonly template: Json;
}

/** Deploy-time values: what CloudFormation substitutes for pseudo parameters, parameters, `Ref`s and `GetAtt`s. */
export interface DeployValues {
  readonly stackName: string;
  readonly region: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** `Ref` of a resource: a volume ID, a bucket name, an Elastic IP. */
  readonly resources: Readonly<Record<string, string>>;
}

/** Every template of a cluster, as the long-form objects their YAML (what synth writes to `out/`) stands for. */
export function synthesizedTemplates(config: ClusterConfig): Record<string, Json> {
  const compiled = compile(config);
  return Object.fromEntries([compiled.root, ...compiled.children].map((t) => [t.id, parseTemplate(t.yaml, t.file) as Json]));
}

/** Every user-data program (`UserData: !Base64 !Sub ...` of an instance or a launch template). */
export function userDataPrograms(templates: Record<string, Json>): UserDataProgram[] {
  return Object.entries(templates).flatMap(([stack, template]) =>
    Object.entries(template.Resources as Record<string, Json>).flatMap(([id, resource]) => {
      const userData = resource.Properties?.UserData ?? resource.Properties?.LaunchTemplateData?.UserData;
      if (!userData) return [];
      const sub = userData['Fn::Base64']['Fn::Sub'];
      const [text, variables] = typeof sub === 'string' ? [sub, {}] : sub;
      return [{ stack, id, text, variables, template }];
    }),
  );
}

/** The program of one resource. */
export function userDataProgram(templates: Record<string, Json>, id: string): UserDataProgram {
  const found = userDataPrograms(templates).find((p) => p.id === id);
  if (!found) throw new Error(`no user data on ${id}`);
  return found;
}

/** The `${...}` names a `Fn::Sub` text refers to (`${!x}` is a literal, not a reference). */
export function subReferences(text: string): string[] {
  return [...text.matchAll(/\$\{(?!!)([^}]*)\}/g)].map((m) => m[1]!);
}

function resolveValue(program: UserDataProgram, name: string, value: unknown, values: DeployValues): string {
  if (typeof value === 'string') return value;
  const ref = (value as Json | null)?.['Ref'];
  if (typeof ref === 'string') return resolveName(program, ref, values);
  throw new Error(`${program.id}: cannot resolve variable ${name} = ${JSON.stringify(value)}`);
}

function resolveName(program: UserDataProgram, name: string, values: DeployValues): string {
  if (name === 'AWS::StackName') return values.stackName;
  if (name === 'AWS::Region') return values.region;
  if (name === 'AWS::Partition') return 'aws';
  const declared = program.template.Parameters?.[name];
  if (declared) {
    const value = values.parameters[name] ?? declared.Default;
    if (value === undefined) throw new Error(`${program.id}: parameter ${name} has no deploy-time value`);
    return String(value);
  }
  if (program.template.Resources[name]) {
    const value = values.resources[name];
    if (value === undefined) throw new Error(`${program.id}: resource ${name} has no deploy-time value`);
    return value;
  }
  throw new Error(`${program.id}: \${${name}} is neither a variable, a parameter nor a resource of its stack`);
}

/** The program as the instance receives it: every `${...}` substituted, `${!x}` turned into `${x}`. */
export function resolveUserData(program: UserDataProgram, values: DeployValues): string {
  return program.text.replace(/\$\{(!?)([^}]*)\}/g, (_, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    if (name in program.variables) return resolveValue(program, name, program.variables[name], values);
    return resolveName(program, name, values);
  });
}

/** The resource that receives a program's signal: the instance, or the auto scaling group of a launch template. */
export function signalledResource(program: UserDataProgram): string {
  return program.id.endsWith('LaunchTemplate') ? program.id.replace('LaunchTemplate', 'Group') : program.id;
}

/** Deploy-time values shaped like AWS's, for resolving programs outside a sandbox. */
export function exampleValues(templates: Record<string, Json>): DeployValues {
  const resources: Record<string, string> = {};
  let n = 0;
  for (const template of Object.values(templates)) {
    for (const [id, r] of Object.entries(template.Resources as Record<string, Json>)) {
      if (r.Type === 'AWS::EC2::Volume') resources[id] = `vol-0${(0xa1b2c3d4e5f6 + n++).toString(16).padStart(16, '0')}`;
    }
  }
  return {
    stackName: 'dcos-prod-Nested-1A2B3C4D5E6F',
    region: 'eu-west-1',
    parameters: {
      BundleUrlParameter: '/dcos-cfn/dcos-prod/bundle-url',
      DcosCliUrl: 'https://downloads.example.com/dcos',
      KeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    },
    resources: { ...resources, ProfileBucket: 'dcos-prod-vpn-profilebucket-1a2b3c4d5e6f', VpnAddress: '203.0.113.5' },
  };
}
