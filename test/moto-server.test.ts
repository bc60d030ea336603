/**
 * The emulator launcher (test/moto-server.py) against the real synthesized clusters: after a CloudFormation
 * create, EC2 describes each instance where its template put it. Plain moto 5.2 ignores an instance's
 * `NetworkInterfaces` and puts every such instance in the default VPC with a public IP (gaps 11-13), lists
 * no subnet route-table association (gap 15), launches auto scaling instances into the VPC's default group
 * (gap 16), and registers no target group `Targets` (gap 17). Then gaps 19, 20 and 26 on small templates; 21-24
 * (rollback, deletion) are read back in test/deploy-cluster.test.ts.
 */
import { CloudFormationClient, CreateChangeSetCommand, CreateStackCommand, DeleteChangeSetCommand, DeleteStackCommand, DescribeChangeSetCommand, DescribeStacksCommand, ExecuteChangeSetCommand, ListStackResourcesCommand, type DescribeChangeSetCommandOutput } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeAutoScalingGroupsCommand, AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeAddressesCommand, DescribeInstanceAttributeCommand, DescribeInstancesCommand, DescribeRouteTablesCommand, DescribeSubnetsCommand, EC2Client, GetSubnetCidrReservationsCommand, type Instance } from '@aws-sdk/client-ec2';
import { DescribeTargetGroupAttributesCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../lib/deploy/aws.js';
import { measureDeploy } from './helpers/measure.js';
import { loadTemplates, type TemplateSet } from '../lib/deploy/templates.js';
import { compile, writeOutput } from '../lib/synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import haCluster from '../stacks/clusters/ha.js';
import { masterReservation, type ClusterConfig } from '../stacks/config.js';
import { SecurityGroupIds, StackIds, SubnetIds } from '../stacks/names.js';
import { startMotoOrSkip, stopMoto, type Moto } from './moto.js';
import { uploadStandInBundle } from './boot/bundle.js';

const PARAMETERS = { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890' };

/** The first network interface an instance template declares (NetworkInterfaces[0]), as synth writes it. */
interface InterfaceSpec {
  readonly DeviceIndex: string;
  readonly SubnetId?: { readonly 'Fn::Select': [number, { readonly Ref: string }] };
  readonly PrivateIpAddress?: string;
  readonly NetworkInterfaceId?: { readonly 'Fn::GetAtt': [string, string] };
}

/** A cluster deployed to moto, read back: physical IDs and the Network stack's outputs. */
interface Deployed {
  readonly templates: TemplateSet;
  /** Physical IDs by nested stack (`Network`, `MasterZone`, ...) and logical ID. */
  readonly physical: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly network: Readonly<Record<string, string>>;
}

describe('moto launcher: a CloudFormation instance keeps its network interfaces', function () {
  let moto: Moto | undefined;
  let ec2: EC2Client | undefined;
  let autoscaling: AutoScalingClient | undefined;
  let elbv2: ElasticLoadBalancingV2Client | undefined;
  const dirs: string[] = [];

  before(async function () {
    moto = await startMotoOrSkip(this);
    ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1' });
    autoscaling = new AutoScalingClient({ endpoint: moto.endpoint, region: 'us-east-1' });
    elbv2 = new ElasticLoadBalancingV2Client({ endpoint: moto.endpoint, region: 'us-east-1' });
  });
  after(async () => {
    ec2?.destroy();
    autoscaling?.destroy();
    elbv2?.destroy();
    await stopMoto(moto);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Synthesizes a definition, deploys it as stack `name`, and lists what was created. */
  async function deployCluster(config: ClusterConfig, name: string): Promise<Deployed> {
    const dir = join(mkdtempSync(join(tmpdir(), 'dcos-placement-')), 'out');
    dirs.push(join(dir, '..'));
    await writeOutput(compile(config), dir);
    await uploadStandInBundle(dir, config, moto!.endpoint);
    const templates = loadTemplates(dir);
    const lines: string[] = [];
    const aws = { endpointUrl: moto!.endpoint, region: 'us-east-1' };
    const { result } = await measureDeploy(aws, {
      templates,
      stackName: name,
      parameters: PARAMETERS,
      endpointUrl: moto!.endpoint,
      confirm: async () => true,
      print: (line) => lines.push(line),
      pollMs: 20,
      eventPollMs: 20,
    });
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    const { cfn } = await connect(aws);
    const physical: Record<string, Record<string, string>> = {};
    const arns: Record<string, string> = {};
    for (const nested of (await cfn.send(new ListStackResourcesCommand({ StackName: name }))).StackResourceSummaries ?? []) {
      if (nested.ResourceType !== 'AWS::CloudFormation::Stack') continue;
      arns[nested.LogicalResourceId!] = nested.PhysicalResourceId!;
      const summaries = (await cfn.send(new ListStackResourcesCommand({ StackName: nested.PhysicalResourceId }))).StackResourceSummaries ?? [];
      physical[nested.LogicalResourceId!] = Object.fromEntries(summaries.map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
    }
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: arns[StackIds.Network] }))).Stacks![0]!;
    cfn.destroy();
    return { templates, physical, network: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!])) };
  }

  async function describeInstance(instanceId: string): Promise<Instance> {
    const reservations = (await ec2!.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations ?? [];
    const instance = reservations[0]?.Instances?.[0];
    assert.ok(instance, `DescribeInstances knows ${instanceId}`);
    return instance;
  }

  async function availabilityZone(subnetId: string): Promise<string | undefined> {
    return (await ec2!.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets?.[0]?.AvailabilityZone;
  }

  /** The interface the template gives an instance of a nested stack. */
  function interfaceSpec({ templates }: Deployed, stack: string, logicalId: string): InterfaceSpec {
    const props = templates.nested[stack]?.template.Resources?.[logicalId]?.Properties as { NetworkInterfaces?: InterfaceSpec[] } | undefined;
    const spec = props?.NetworkInterfaces?.[0];
    assert.ok(spec, `${stack}/${logicalId} declares a network interface`);
    return spec;
  }

  /** The subnet a `!Select [i, !Ref ListParameter]` picks from the Network output of the same name. */
  function selectedSubnet({ network }: Deployed, spec: InterfaceSpec): string {
    const [index, { Ref: list }] = spec.SubnetId!['Fn::Select'];
    const subnet = network[list]?.split(',')[index];
    assert.ok(subnet, `Network output ${list} has entry ${index}`);
    return subnet;
  }

  for (const [label, config] of [['default', defaultCluster], ['ha', haCluster]] as const) {
    describe(`the '${label}' cluster`, () => {
      let cluster: Deployed;
      before(async function () {
        if (!moto) this.skip();
        cluster = await deployCluster(config, `dcos-placement-${label}`);
      });

      it('puts each master in its own master subnet, with its fixed address, the master group and no public IP', async () => {
        const masterZone = cluster.templates.nested[StackIds.MasterZone]!.template.Resources ?? {};
        const masters = Object.keys(masterZone).filter((id) => /^Master\d+$/.test(id) && masterZone[id]!.Type === 'AWS::EC2::Instance');
        assert.equal(masters.length, config.masters.count, masters.join(', '));
        const masterSubnets = cluster.network[SubnetIds.list('Master')]!.split(',');
        const masterGroup = cluster.network[SecurityGroupIds.output('Master')];
        const seen = new Set<string>();
        for (const id of masters) {
          const spec = interfaceSpec(cluster, StackIds.MasterZone, id);
          const instance = await describeInstance(cluster.physical[StackIds.MasterZone]![id]!);
          assert.equal(instance.SubnetId, selectedSubnet(cluster, spec), `${id} subnet`);
          assert.ok(masterSubnets.includes(instance.SubnetId!), `${id} in a master subnet`);
          seen.add(instance.SubnetId!);
          assert.equal(instance.VpcId, cluster.network['VpcId'], `${id} VPC`);
          assert.equal(instance.Placement?.AvailabilityZone, await availabilityZone(instance.SubnetId!), `${id} AZ`);
          assert.match(spec.PrivateIpAddress ?? '', /^10\./);
          assert.equal(instance.PrivateIpAddress, spec.PrivateIpAddress, `${id} fixed address`);
          assert.equal(instance.PublicIpAddress, undefined, `${id} has no public IP`);
          assert.deepEqual(instance.SecurityGroups?.map((g) => g.GroupId), [masterGroup], `${id} groups`);
          const [eni, ...more] = instance.NetworkInterfaces ?? [];
          assert.equal(more.length, 0, `${id} has one interface`);
          assert.equal(eni?.SubnetId, instance.SubnetId);
          assert.equal(eni?.PrivateIpAddress, spec.PrivateIpAddress);
          assert.equal(eni?.Association?.PublicIp, undefined, `${id} interface has no public IP`);
          assert.deepEqual(eni?.Groups?.map((g) => g.GroupId), [masterGroup]);
          const protection = await ec2!.send(new DescribeInstanceAttributeCommand({ InstanceId: instance.InstanceId!, Attribute: 'disableApiTermination' }));
          assert.equal(protection.DisableApiTermination?.Value, true, `${id} protected from termination, as its template says (gap 25)`);
        }
        assert.equal(seen.size, Math.min(masters.length, masterSubnets.length), 'masters spread over the master subnets');
      });

      it('associates each subnet with the route table its template names: only the public zone routes to the internet gateway', async () => {
        const tables = (await ec2!.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [cluster.network['VpcId']!] }] }))).RouteTables ?? [];
        const network = cluster.physical[StackIds.Network]!;
        const tableOf = (subnet: string) => tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnet));
        for (const zone of ['Public', 'Master', 'PrivateAgent', 'PublicAgent'] as const) {
          for (const subnet of cluster.network[SubnetIds.list(zone)]!.split(',')) {
            const table = tableOf(subnet);
            assert.ok(table, `${zone} subnet ${subnet} has an explicit route table association`);
            const association = table.Associations!.find((a) => a.SubnetId === subnet)!;
            const logicalId = Object.keys(network).find((id) => network[id] === association.RouteTableAssociationId);
            assert.match(logicalId ?? '', /RouteTableAssociation$/, 'Ref of the association resource is its rtbassoc- ID');
            const toInternet = table.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.GatewayId?.startsWith('igw-'));
            assert.equal(toInternet, zone === 'Public', `${zone} subnet routes to the internet gateway`);
          }
        }
      });

      it("launches the agents with their launch template's security group and no public IP", async () => {
        const agents = cluster.physical[StackIds.Agents]!;
        const groups = (await autoscaling!.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [agents['PrivateAgentGroup']!, agents['PublicAgentGroup']!] }))).AutoScalingGroups ?? [];
        assert.equal(groups.length, 2);
        for (const group of groups) {
          const role = group.AutoScalingGroupName === agents['PublicAgentGroup'] ? 'PublicAgent' : 'PrivateAgent';
          assert.ok(group.Instances?.length, `${role} group has instances`);
          for (const { InstanceId } of group.Instances ?? []) {
            const instance = await describeInstance(InstanceId!);
            assert.ok(group.VPCZoneIdentifier?.split(',').includes(instance.SubnetId!), `${InstanceId} in one of the group's subnets`);
            assert.equal(instance.PublicIpAddress, undefined, `${InstanceId} has no public IP`);
            assert.deepEqual(instance.NetworkInterfaces?.map((n) => n.Groups?.map((g) => g.GroupId)), [[cluster.network[SecurityGroupIds.output(role)]]]);
            assert.deepEqual(instance.SecurityGroups?.map((g) => g.GroupId), [cluster.network[SecurityGroupIds.output(role)]]);
          }
        }
      });

      it('registers the masters with the internal target groups, client IP preservation as the templates set it', async () => {
        const masterZone = cluster.physical[StackIds.MasterZone]!;
        const agents = cluster.physical[StackIds.Agents]!;
        const targets = Object.keys(masterZone).filter((id) => /^MasterTargets\d+$/.test(id));
        assert.ok(targets.length >= 6, targets.join(', '));
        for (const id of targets) {
          const health = (await elbv2!.send(new DescribeTargetHealthCommand({ TargetGroupArn: masterZone[id] }))).TargetHealthDescriptions ?? [];
          const masters = Object.keys(masterZone).filter((m) => /^Master\d+$/.test(m)).map((m) => masterZone[m]);
          assert.deepEqual(health.map((h) => h.Target?.Id).sort(), masters.sort(), `${id} targets`);
          assert.deepEqual(health.map((h) => h.Target?.Port), health.map(() => Number(id.replace('MasterTargets', ''))));
        }
        const attribute = async (arn: string) =>
          ((await elbv2!.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes ?? []).find((a) => a.Key === 'preserve_client_ip.enabled')?.Value;
        assert.equal(await attribute(masterZone['MasterTargets80']!), 'false');
        assert.equal(await attribute(agents['PublicTargets80']!), 'true');
      });

      it('puts the dcos-cli instance in a master subnet with the admin group and no public IP, outside the masters\' reserved addresses', async () => {
        const spec = interfaceSpec(cluster, StackIds.MasterZone, 'AdminInstance');
        const instance = await describeInstance(cluster.physical[StackIds.MasterZone]!['AdminInstance']!);
        assert.equal(instance.SubnetId, selectedSubnet(cluster, spec));
        const reserved = (await ec2!.send(new GetSubnetCidrReservationsCommand({ SubnetId: instance.SubnetId! }))).SubnetIpv4CidrReservations ?? [];
        assert.deepEqual(reserved.map((r) => [r.Cidr, r.ReservationType]), [[masterReservation(config, 0), 'explicit']]);
        const [base, prefix] = reserved[0]!.Cidr!.split('/') as [string, string];
        const n = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
        const offset = n(instance.PrivateIpAddress!) - n(base);
        assert.ok(offset < 0 || offset >= 2 ** (32 - Number(prefix)), `${instance.PrivateIpAddress} is outside ${reserved[0]!.Cidr}`);
        assert.equal(instance.VpcId, cluster.network['VpcId']);
        assert.equal(instance.PublicIpAddress, undefined);
        assert.deepEqual(instance.SecurityGroups?.map((g) => g.GroupId), [cluster.network[SecurityGroupIds.output('Admin')]]);
      });

      it('attaches the VPN gateway to its own interface: public subnet, VPN group, the Elastic IP as its only public address', async () => {
        const vpn = cluster.physical[StackIds.Vpn]!;
        const spec = interfaceSpec(cluster, StackIds.Vpn, 'VpnGateway');
        assert.equal(spec.NetworkInterfaceId?.['Fn::GetAtt'][0], 'VpnInterface');
        const instance = await describeInstance(vpn['VpnGateway']!);
        const [eni, ...more] = instance.NetworkInterfaces ?? [];
        assert.equal(more.length, 0);
        assert.equal(eni?.NetworkInterfaceId, vpn['VpnInterface'], 'the template interface, not a new one');
        assert.equal(eni?.Attachment?.DeviceIndex, 0);
        assert.equal(instance.SubnetId, cluster.network[SubnetIds.list('Public')]!.split(',')[0]);
        assert.equal(instance.VpcId, cluster.network['VpcId']);
        assert.equal(instance.Placement?.AvailabilityZone, await availabilityZone(instance.SubnetId!));
        assert.deepEqual(instance.SecurityGroups?.map((g) => g.GroupId), [cluster.network[SecurityGroupIds.output('Vpn')]]);
        const addresses = (await ec2!.send(new DescribeAddressesCommand({}))).Addresses ?? [];
        const address = addresses.find((a) => a.NetworkInterfaceId === vpn['VpnInterface']);
        assert.ok(address?.PublicIp, `an Elastic IP on the VPN interface: ${JSON.stringify(addresses)}`);
        assert.equal(instance.PublicIpAddress, address.PublicIp);
      });
    });
  }
});

describe('moto launcher: CloudFormation behaviour plain moto lacks', function () {
  let moto: Moto | undefined;
  let cfn: CloudFormationClient;
  let ec2: EC2Client;

  before(async function () {
    moto = await startMotoOrSkip(this);
    cfn = new CloudFormationClient({ endpoint: moto.endpoint, region: 'us-east-1' });
    ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1' });
  });
  after(async () => {
    cfn?.destroy();
    ec2?.destroy();
    await stopMoto(moto);
  });

  const stackResources = async (stack: string) =>
    Object.fromEntries(((await cfn.send(new ListStackResourcesCommand({ StackName: stack }))).StackResourceSummaries ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));

  it('keeps addresses EC2 assigns out of an explicit subnet CIDR reservation, and lets an instance take one there on purpose (gap 19)', async () => {
    const instance = (extra: object) => ({ Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-12345678', NetworkInterfaces: [{ DeviceIndex: '0', SubnetId: { Ref: 'Subnet' }, ...extra }] } });
    const template = {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.9.0.0/16' } },
        Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.9.8.0/24' } },
        // Where EC2 (and moto) would assign first: .4 to .11.
        Reserved: { Type: 'AWS::EC2::SubnetCidrReservation', Properties: { SubnetId: { Ref: 'Subnet' }, Cidr: '10.9.8.0/28', ReservationType: 'explicit' } },
        Fixed: { ...instance({ PrivateIpAddress: '10.9.8.10' }), DependsOn: 'Reserved' },
        Assigned: { ...instance({}), DependsOn: 'Reserved' },
      },
    };
    await cfn.send(new CreateStackCommand({ StackName: 'launcher-reservation', TemplateBody: JSON.stringify(template) }));
    const ids = await stackResources('launcher-reservation');
    const reservations = (await ec2.send(new GetSubnetCidrReservationsCommand({ SubnetId: ids['Subnet'] }))).SubnetIpv4CidrReservations ?? [];
    assert.deepEqual(reservations.map((r) => [r.SubnetCidrReservationId, r.Cidr, r.ReservationType]), [[ids['Reserved'], '10.9.8.0/28', 'explicit']]);
    const address = async (id: string) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.PrivateIpAddress!;
    assert.equal(await address(ids['Fixed']!), '10.9.8.10');
    const assigned = Number((await address(ids['Assigned']!)).split('.')[3]);
    assert.ok(assigned >= 16, `EC2 assigned .${assigned}, outside the reserved .0-.15`);
    await cfn.send(new DeleteStackCommand({ StackName: 'launcher-reservation' }));
    await assert.rejects(ec2.send(new DescribeSubnetsCommand({ SubnetIds: [ids['Subnet']!] })), /does not exist/, 'the stack, its reservation and its subnet are deleted');
  });

  it('shows a resource that refers to a parameter whose value changes as a Modify in the change set (gap 20)', async () => {
    const template = {
      Parameters: { Image: { Type: 'String' }, Size: { Type: 'String', Default: 't3.small' } },
      Resources: {
        Template: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { ImageId: { Ref: 'Image' } } } },
        Other: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { InstanceType: { Ref: 'Size' } } } },
      },
    };
    const body = JSON.stringify(template);
    await cfn.send(new CreateStackCommand({ StackName: 'launcher-parameters', TemplateBody: body, Parameters: [{ ParameterKey: 'Image', ParameterValue: 'ami-1' }] }));
    const { Id } = await cfn.send(
      new CreateChangeSetCommand({
        StackName: 'launcher-parameters',
        ChangeSetName: 'new-image',
        ChangeSetType: 'UPDATE',
        TemplateBody: body,
        // Size was left at its default; passed now with that same value, it changes nothing.
        Parameters: [{ ParameterKey: 'Image', ParameterValue: 'ami-2' }, { ParameterKey: 'Size', ParameterValue: 't3.small' }],
      }),
    );
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    assert.deepEqual((described.Changes ?? []).map((c) => `${c.ResourceChange?.Action} ${c.ResourceChange?.LogicalResourceId}`), ['Modify Template']);
  });

  it("gives every Modify a Replacement value: True for a property the type cannot update in place, Conditional through a replaced resource, False otherwise (gap 27)", async () => {
    const template = (cidr: string, days: number) =>
      JSON.stringify({
        Parameters: { Zone: { Type: 'String', Default: 'us-east-1a' } },
        Resources: {
          Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: cidr, Tags: [{ Key: 'days', Value: String(days) }] } },
          Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.7.1.0/24', AvailabilityZone: { Ref: 'Zone' }, Tags: [{ Key: 'days', Value: String(days) }] } },
          Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: days } },
        },
      });
    await cfn.send(new CreateStackCommand({ StackName: 'launcher-replacement', TemplateBody: template('10.7.0.0/16', 30) }));
    const changes = async (body: string, zone: string) => {
      const { Id } = await cfn.send(new CreateChangeSetCommand({ StackName: 'launcher-replacement', ChangeSetName: `c${Date.now()}`, ChangeSetType: 'UPDATE', TemplateBody: body, Parameters: [{ ParameterKey: 'Zone', ParameterValue: zone }] }));
      const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
      await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: Id }));
      return (described.Changes ?? []).map((c) => `${c.ResourceChange?.LogicalResourceId} ${c.ResourceChange?.Replacement}`).sort();
    };
    // The VPC's CIDR is createOnly; the subnet's own properties change only in a tag, but its VpcId is the new VPC's.
    assert.deepEqual(await changes(template('10.8.0.0/16', 60), 'us-east-1a'), ['Logs False', 'Subnet Conditional', 'Vpc True']);
    // A parameter that changes a createOnly property replaces too.
    assert.deepEqual(await changes(template('10.7.0.0/16', 30), 'us-east-1b'), ['Subnet True']);
    await cfn.send(new DeleteStackCommand({ StackName: 'launcher-replacement' }));
  });

  it('makes a change set per nested stack it adds or updates, read through ChangeSetId and executed only with its root (gap 26)', async () => {
    // GIVEN a root with two nested stacks, Child (which nests Inner) and Old, all taking Retention down from the root
    const s3 = new S3Client({ endpoint: moto!.endpoint, region: 'us-east-1', forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'launcher-nested' }));
    const url = (key: string) => `${new URL(moto!.endpoint).origin.replace('127.0.0.1', 'localhost')}/launcher-nested/${key}`;
    const logs = (extra: object = {}) => ({
      Parameters: { Retention: { Type: 'String' } },
      Resources: { Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: { Ref: 'Retention' } } }, ...extra },
    });
    const nested = (key: string) => ({ Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: url(key), Parameters: { Retention: { Ref: 'Retention' } } } });
    const objects = { 'inner.yaml': logs(), 'child.yaml': logs({ Inner: nested('inner.yaml') }), 'other.yaml': logs() };
    for (const [Key, body] of Object.entries(objects)) await s3.send(new PutObjectCommand({ Bucket: 'launcher-nested', Key, Body: JSON.stringify(body) }));
    const root = (others: Record<string, object>) => JSON.stringify({ Parameters: { Retention: { Type: 'String', Default: '30' } }, Resources: { Child: nested('child.yaml'), ...others } });
    await cfn.send(new CreateStackCommand({ StackName: 'launcher-nested', TemplateBody: root({ Old: nested('other.yaml') }) }));
    const childStack = (await stackResources('launcher-nested'))['Child']!;

    // WHEN an update changes Retention, replaces Old with New, and asks for nested change sets
    const update = (name: string) =>
      cfn.send(
        new CreateChangeSetCommand({
          StackName: 'launcher-nested',
          ChangeSetName: name,
          ChangeSetType: 'UPDATE',
          TemplateBody: root({ New: nested('other.yaml') }),
          Parameters: [{ ParameterKey: 'Retention', ParameterValue: '60' }],
          IncludeNestedStacks: true,
        }),
      );
    const { Id: rootId } = await update('retention');
    const describe = (id: string) => cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id }));
    const changes = (d: DescribeChangeSetCommandOutput) => (d.Changes ?? []).map((c) => `${c.ResourceChange?.Action} ${c.ResourceChange?.LogicalResourceId}${c.ResourceChange?.ChangeSetId ? ' +' : ''}`).sort();
    const nestedId = (d: DescribeChangeSetCommandOutput, id: string) => d.Changes?.find((c) => c.ResourceChange?.LogicalResourceId === id)?.ResourceChange?.ChangeSetId;

    // THEN the root names a change set for Child and New (none for Old, which is deleted) ...
    const described = await describe(rootId!);
    assert.equal(described.IncludeNestedStacks, true);
    assert.deepEqual(changes(described), ['Add New +', 'Modify Child +', 'Remove Old']);
    // ... Child's is the nested stack's own, with what the new parameter value changes in it, and names Inner's
    const child = await describe(nestedId(described, 'Child')!);
    const childNow = (await cfn.send(new DescribeStacksCommand({ StackName: childStack }))).Stacks![0]!;
    assert.deepEqual([child.StackId, child.StackName], [childNow.StackId, childNow.StackName]);
    assert.deepEqual([child.ParentChangeSetId, child.RootChangeSetId, child.Status, child.ExecutionStatus, child.StatusReason], [rootId, rootId, 'CREATE_COMPLETE', 'UNAVAILABLE', 'Only executable from the root change set.']);
    assert.deepEqual(changes(child), ['Modify Inner +', 'Modify Logs']);
    assert.deepEqual(child.Parameters, [{ ParameterKey: 'Retention', ParameterValue: '60' }]);
    const inner = await describe(nestedId(child, 'Inner')!);
    assert.deepEqual([inner.ParentChangeSetId, inner.RootChangeSetId], [child.ChangeSetId, rootId]);
    assert.deepEqual(changes(inner), ['Modify Logs']);
    // ... and New's, for a stack the execution makes, adds everything in it
    const added = await describe(nestedId(described, 'New')!);
    assert.match(added.StackName ?? '', /^launcher-nested-New-/);
    assert.deepEqual(changes(added), ['Add Logs']);

    // a nested change set cannot be executed on its own; deleting the root deletes the nested ones
    await assert.rejects(cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: child.ChangeSetId })), (err: Error) => err.name === 'InvalidChangeSetStatusException' && /cannot be executed in its current status of \[UNAVAILABLE\]/.test(err.message));
    await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: rootId }));
    for (const id of [child.ChangeSetId, inner.ChangeSetId, added.ChangeSetId]) await assert.rejects(describe(id!), /does not exist/);

    // executing the root executes the nested change sets with it
    const { Id: again } = await update('retention-again');
    const tree = await describe(again!);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: again }));
    assert.equal((await describe(nestedId(tree, 'Child')!)).ExecutionStatus, 'EXECUTE_COMPLETE');
    const updated = (await cfn.send(new DescribeStacksCommand({ StackName: childStack }))).Stacks![0]!;
    assert.deepEqual(updated.Parameters, [{ ParameterKey: 'Retention', ParameterValue: '60' }]);

    // a nested template that cannot be read fails the root change set, as on AWS
    const { Id: broken } = await cfn.send(
      new CreateChangeSetCommand({ StackName: 'launcher-nested', ChangeSetName: 'broken', ChangeSetType: 'UPDATE', TemplateBody: root({ New: nested('missing.yaml') }), IncludeNestedStacks: true }),
    );
    const failed = await describe(broken!);
    assert.deepEqual([failed.Status, failed.ExecutionStatus], ['FAILED', 'UNAVAILABLE']);
    assert.match(failed.StatusReason ?? '', /^A nested change set was not successfully created: /);
    s3.destroy();
  });
});
