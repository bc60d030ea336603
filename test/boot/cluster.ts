/**
 * One synthesized cluster booted in the sandbox: its templates (as synth writes them), a `World` for its VPC, and
 * one method per kind of node that resolves the node's user data with the deploy-time values a deploy would give
 * (volume IDs, the bucket, the Elastic IP, the name of the bundle URL's SSM parameter) and boots it at the address
 * the templates give it. The stand-in bundles are made from the cluster's genconf; each variant's URL is in an SSM
 * parameter of moto, which the nodes read with the AWS CLI as they read the root's on AWS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masterAddresses, type ClusterConfig } from '../../stacks/config.js';
import { masterId } from '../../stacks/names.js';
import { formatIp, parseCidr } from '../../stacks/cidr.js';
import { BUNDLE_VARIANTS, writeStandInBundles, type BundleVariant, type StandInBundles } from './bundle.js';
import { ADDRESSES, World, type BootOptions, type Instance, type Volume } from './sandbox.js';
import { resolveUserData, synthesizedTemplates, userDataProgram, type DeployValues, type Json } from './user-data.js';

/** An address `offset` hosts into a subnet. */
export function hostIn(subnet: string, offset: number): string {
  return formatIp(parseCidr(subnet)!.base + offset);
}

/** Calls one action of moto's JSON APIs (SSM, KMS) over HTTP; moto checks no signature. */
export async function motoCall(endpoint: string, target: string, body: object): Promise<Record<string, any>> {
  const service = target.startsWith('AmazonSSM') ? 'ssm' : target.startsWith('Logs_') ? 'logs' : 'kms';
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': target,
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`moto ${target}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, any>;
}

export interface NodeBoot {
  /** Which bundle the bundle URL's SSM parameter points at. @default good */
  readonly bundle?: BundleVariant;
  /** The name of the SSM parameter the node reads its bundle URL from, instead of the variant's. */
  readonly parameter?: string;
  readonly timeLapse?: number;
  readonly preBoot?: string;
  /** Attach no state volume: the templates name it, but it never appears. */
  readonly withoutVolume?: boolean;
  /** Boot under another instance name (a second boot of the same master). */
  readonly name?: string;
}

export class BootCluster {
  readonly templates: Record<string, Json>;
  readonly masters: readonly string[];
  /** State volumes by logical ID, made on first use and kept for later boots. */
  readonly volumes = new Map<string, Volume>();
  /** Parameter values every boot gets (a test adds the KMS key's ARN). */
  readonly parameters: Record<string, string> = { DcosCliUrl: '' };
  readonly resources: Record<string, string> = { VpnAddress: ADDRESSES.elasticIp };

  private constructor(
    readonly config: ClusterConfig,
    readonly world: World,
    readonly bundles: StandInBundles,
  ) {
    this.templates = synthesizedTemplates(config);
    this.masters = masterAddresses(config);
  }

  /** Builds the world, its stand-in bundles and, in moto (`motoEndpoint`), one bundle URL parameter per variant. */
  static async start(config: ClusterConfig, motoEndpoint: string): Promise<BootCluster> {
    const s = config.subnets;
    const bundles = writeStandInBundles(mkdtempSync(join(tmpdir(), 'dcos-boot-bundle-')), config);
    let world: World;
    try {
      world = await World.create({
        vpcCidr: config.vpcCidr,
        subnets: [...s.public, ...s.masterZone, ...s.privateAgents, ...s.publicAgents],
        bundle: { host: bundles.host, root: bundles.root },
        s3Endpoint: motoEndpoint,
      });
    } catch (err) {
      rmSync(bundles.root, { recursive: true, force: true });
      throw err;
    }
    const cluster = new BootCluster(config, world, bundles);
    for (const variant of BUNDLE_VARIANTS) {
      await motoCall(motoEndpoint, 'AmazonSSM.PutParameter', { Name: cluster.bundleUrlParameter(variant), Value: bundles.urls[variant], Type: 'String', Overwrite: true });
    }
    return cluster;
  }

  /** The SSM parameter that holds a variant's bundle URL (on AWS, the root's `/dcos-cfn/<stack>/bundle-url`). */
  bundleUrlParameter(variant: BundleVariant): string {
    return `/dcos-boot/${this.world.id}/${variant}/bundle-url`;
  }

  /** The deploy-time values for a program of `stack`. */
  values(stack: string, node: NodeBoot = {}): DeployValues {
    const resources: Record<string, string> = { ...this.resources };
    for (const [id, v] of this.volumes) resources[id] = v.volumeId;
    return {
      stackName: `dcos-boot-${stack}-${this.world.id.toUpperCase()}`,
      region: 'us-east-1',
      parameters: { ...this.parameters, BundleUrlParameter: node.parameter ?? this.bundleUrlParameter(node.bundle ?? 'good') },
      resources,
    };
  }

  /** The state volume of a resource, made (blank) on first use. */
  volume(logicalId: string): Volume {
    let volume = this.volumes.get(logicalId);
    if (!volume) {
      const hex = Buffer.from(`${this.world.id}${logicalId}`).toString('hex').slice(-16).padStart(16, '0');
      volume = this.world.createVolume(`vol-0${hex}`.slice(0, 21));
      this.volumes.set(logicalId, volume);
    }
    return volume;
  }

  private async bootProgram(id: string, options: Omit<BootOptions, 'program'>, node: NodeBoot = {}): Promise<Instance> {
    const program = userDataProgram(this.templates, id);
    const text = resolveUserData(program, this.values(program.stack, node));
    return this.world.boot({ ...options, program: text, ...(node.timeLapse ? { timeLapse: node.timeLapse } : {}), ...(node.preBoot ? { preBoot: node.preBoot } : {}) });
  }

  /** Master `i` (0-based) at its fixed address, with its state volume. */
  async bootMaster(i: number, node: NodeBoot = {}): Promise<Instance> {
    const id = masterId(i);
    const volume = this.volume(`${id}State`);
    const volumes = node.withoutVolume ? [] : [volume];
    const subnet = this.config.subnets.masterZone[i % this.config.availabilityZones]!;
    return this.bootProgram(id, { name: node.name ?? id, network: 'vpc', privateIp: this.masters[i]!, subnet, volumes, roleName: 'MasterRole' }, node);
  }

  /** One instance of an agent group, in the group's first subnet. */
  async bootAgent(kind: 'PrivateAgent' | 'PublicAgent', node: NodeBoot = {}): Promise<Instance> {
    const subnet = kind === 'PrivateAgent' ? this.config.subnets.privateAgents[0]! : this.config.subnets.publicAgents[0]!;
    return this.bootProgram(`${kind}LaunchTemplate`, { name: node.name ?? kind, network: 'vpc', privateIp: hostIn(subnet, 10), subnet, roleName: `${kind}Role` }, node);
  }

  /** The dcos-cli admin instance, in the first master-zone subnet. */
  async bootAdmin(files: Readonly<Record<string, string>> = {}): Promise<Instance> {
    const subnet = this.config.subnets.masterZone[0]!;
    return this.bootProgram('AdminInstance', { name: 'AdminInstance', network: 'vpc', privateIp: hostIn(subnet, 20), subnet, roleName: 'AdminRole', files });
  }

  /** The VPN gateway in the first public subnet, its Elastic IP mapped to it, with its state volume. */
  async bootGateway(node: NodeBoot = {}): Promise<Instance> {
    const subnet = this.config.subnets.public[0]!;
    const privateIp = hostIn(subnet, 10);
    this.world.mapElasticIp(privateIp);
    return this.bootProgram(
      'VpnGateway',
      { name: node.name ?? 'VpnGateway', network: 'vpc', privateIp, subnet, volumes: [this.volume('VpnState')], roleName: 'VpnRole' },
      node,
    );
  }

  /** An admin's machine on the internet side, running `program`. */
  async bootClient(name: string, host: number, files: Readonly<Record<string, string>> = {}): Promise<Instance> {
    return this.world.boot({
      name,
      network: 'internet',
      privateIp: `192.0.2.${host}`,
      program: '#!/bin/bash\nexit 0\n',
      files: { '/etc/resolv.conf': 'nameserver 127.0.0.1\n', ...files },
    });
  }

  async destroy(): Promise<void> {
    await this.world.destroy();
    rmSync(this.bundles.root, { recursive: true, force: true });
  }
}
