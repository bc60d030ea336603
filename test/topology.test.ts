/**
 * Topology: what the synthesized templates let the internet reach, traced through the nested-stack wiring
 * (child parameter → root → network output → subnet → route table → route).
 */
import assert from 'node:assert/strict';
import { allResources, DEFINITIONS, hasResourceProperties, resourcesOfType, strings, synthesize, type Json } from './helpers/template.js';
import { bundleUrl, masterAddresses } from '../stacks/config.js';
import { ROLE_TAG } from '../lib/template.js';

/** The Network output a child parameter is wired to in the root, e.g. MasterZone.MasterSubnetIds → MasterSubnetIds. */
function networkOutputFor(stacks: Record<string, Json>, child: string, parameter: string): string {
  const passed = stacks.Root!.Resources[child].Properties.Parameters[parameter];
  assert.equal(passed['Fn::GetAtt']?.[0], 'Network', `${child}.${parameter} is not wired to the network stack`);
  return (passed['Fn::GetAtt'][1] as string).replace(/^Outputs\./, '');
}

/** Logical IDs of the subnets a network output lists (a `!Join` of `!Ref`s), in AZ order. */
function subnetsOfOutput(stacks: Record<string, Json>, outputName: string): string[] {
  const value = stacks.Network!.Outputs[outputName].Value;
  return (value['Fn::Join'][1] as Json[]).map((ref) => ref.Ref as string);
}

/** The subnet a `!Select [i, !Ref ListParameter]` in a child points at. */
function subnetOf(stacks: Record<string, Json>, child: string, subnetId: Json): string {
  const [index, list] = subnetId['Fn::Select'] as [number, Json];
  return subnetsOfOutput(stacks, networkOutputFor(stacks, child, list.Ref))[index]!;
}

/** Whether a network subnet's route table sends anything to the internet gateway. */
function routesToInternet(network: Json, subnet: string): boolean {
  const [, assoc] = resourcesOfType(network, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet)!;
  const table = assoc.Properties.RouteTableId.Ref;
  return resourcesOfType(network, 'AWS::EC2::Route').some(([, r]) => r.Properties.RouteTableId.Ref === table && r.Properties.GatewayId !== undefined);
}

/** Names a value refers to: `Ref`, `Fn::GetAtt` and `${...}` in `Fn::Sub` (its own variables excepted). */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') found.add(v);
      else if (k === 'Fn::GetAtt') found.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]!);
      else if (k === 'Fn::Sub') {
        const [text, variables] = typeof v === 'string' ? [v, {}] : (v as [string, Json]);
        for (const m of text.matchAll(/\$\{(?!!)([^}.]+)[^}]*\}/g)) if (!(m[1]! in variables)) found.add(m[1]!);
        references(variables, found);
      } else references(v, found);
    }
  }
  return found;
}

/**
 * Everything a resource depends on in its template, followed through the resources it refers to: the parameters
 * and resources whose change CloudFormation would carry into it (how it decides what an update modifies).
 */
function dependencies(template: Json, id: string, seen = new Set<string>()): Set<string> {
  for (const name of references(template.Resources[id])) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (name in template.Resources) dependencies(template, name, seen);
  }
  return seen;
}

/** An instance's primary network interface (instances at fixed addresses declare it inline). */
const primary = (r: Json): Json => r.Properties.NetworkInterfaces[0];

const roleOf = (r: Json): string | undefined =>
  (r.Properties.Tags as Json[] | undefined)?.find((t) => t.Key === ROLE_TAG)?.Value;

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`topology of the '${name}' cluster`, () => {
    const { stacks } = synthesize(config);
    const network = stacks.Network!;
    const masters = resourcesOfType(stacks.MasterZone!, 'AWS::EC2::Instance').filter(([, r]) => roleOf(r) === 'master');

    it(`has ${config.masters.count} master(s) at the fixed addresses, spread over ${config.availabilityZones} AZ(s)`, () => {
      assert.equal(masters.length, config.masters.count);
      assert.deepEqual(masters.map(([, r]) => primary(r).PrivateIpAddress), masterAddresses(config));
      const azs = new Set(masters.map(([, r]) => primary(r).SubnetId['Fn::Select'][0]));
      assert.equal(azs.size, Math.min(config.masters.count, config.availabilityZones));
    });

    it('puts masters only in master-zone subnets without an internet-gateway route', () => {
      for (const [id, master] of masters) {
        const subnet = subnetOf(stacks, 'MasterZone', primary(master).SubnetId);
        assert.match(subnet, /^MasterSubnet\d$/, `${id} is in ${subnet}`);
        assert.equal(routesToInternet(network, subnet), false, `${id}'s subnet ${subnet} routes to the internet gateway`);
      }
    });

    it('routes only public subnets to the internet gateway, and no subnet maps public IPs', () => {
      for (const [id, subnet] of resourcesOfType(network, 'AWS::EC2::Subnet')) {
        assert.equal(routesToInternet(network, id), id.startsWith('PublicSubnet'), `${id}`);
        assert.equal(subnet.Properties.MapPublicIpOnLaunch, false, `${id} maps public IPs`);
      }
    });

    it('puts private agents, public agents and the dcos-cli instance in zones without an internet route', () => {
      for (const [group, param] of [['PrivateAgentGroup', 'PrivateAgentSubnetIds'], ['PublicAgentGroup', 'PublicAgentSubnetIds']] as const) {
        assert.deepEqual(stacks.Agents!.Resources[group].Properties.VPCZoneIdentifier, { Ref: param });
        for (const subnet of subnetsOfOutput(stacks, networkOutputFor(stacks, 'Agents', param))) {
          assert.equal(routesToInternet(network, subnet), false, `${group} subnet ${subnet}`);
        }
      }
      const admin = stacks.MasterZone!.Resources.AdminInstance;
      assert.equal(routesToInternet(network, subnetOf(stacks, 'MasterZone', primary(admin).SubnetId)), false);
    });

    it('gives public addresses only to the NAT gateways and the VPN entry', () => {
      const eips = allResources(stacks).filter((r) => r.resource.Type === 'AWS::EC2::EIP').map((r) => r.id);
      const natCount = config.natGatewayPerAz ? config.availabilityZones : 1;
      assert.deepEqual(eips.sort(), [...Array.from({ length: natCount }, (_, i) => `NatAddress${i + 1}`), 'VpnAddress'].sort());
      assert.equal(stacks.Vpn!.Resources.VpnAddressAssociation.Properties.NetworkInterfaceId.Ref, 'VpnInterface');
      for (const { id, resource } of allResources(stacks)) {
        if (resource.Type === 'AWS::EC2::LaunchTemplate') {
          for (const ni of resource.Properties.LaunchTemplateData.NetworkInterfaces ?? []) assert.equal(ni.AssociatePublicIpAddress, false, id);
        }
        if (resource.Type === 'AWS::EC2::Instance') {
          assert.equal(resource.Properties.SubnetId, undefined, `${id} sets its subnet outside a network interface`);
          for (const ni of resource.Properties.NetworkInterfaces as Json[]) {
            // A new interface never gets a public address; the one existing interface is the VPN entry's.
            if (ni.NetworkInterfaceId) assert.deepEqual([id, ni.NetworkInterfaceId], ['VpnGateway', { 'Fn::GetAtt': ['VpnInterface', 'Id'] }]);
            else assert.equal(ni.AssociatePublicIpAddress, false, id);
          }
        }
      }
    });

    it('has exactly one internet-facing load balancer, for public agents, listening on tcp 80 and 443 only', () => {
      const lbs = allResources(stacks).filter((r) => r.resource.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer');
      assert.deepEqual(lbs.filter((l) => l.resource.Properties.Scheme === 'internet-facing').map((l) => l.id), ['PublicLoadBalancer']);
      const listeners = resourcesOfType(stacks.Agents!, 'AWS::ElasticLoadBalancingV2::Listener').filter(
        ([, l]) => l.Properties.LoadBalancerArn.Ref === 'PublicLoadBalancer',
      );
      assert.deepEqual(listeners.map(([, l]) => `${l.Properties.Protocol}:${l.Properties.Port}`).sort(), ['TCP:443', 'TCP:80']);
    });

    it('fronts the masters with an internal load balancer in the master zone that targets every master', () => {
      hasResourceProperties(stacks.MasterZone!, 'AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Subnets: { Ref: 'MasterSubnetIds' } });
      for (const [id, tg] of resourcesOfType(stacks.MasterZone!, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
        assert.deepEqual(tg.Properties.Targets.map((t: Json) => t.Id.Ref), masters.map(([m]) => m), id);
      }
    });

    it('admits traffic to masters only from security groups', () => {
      const rules = resourcesOfType(network, 'AWS::EC2::SecurityGroupIngress').filter(
        ([, r]) => r.Properties.GroupId['Fn::GetAtt'][0] === 'MasterSecurityGroup',
      );
      assert.ok(rules.length > 0);
      for (const [id, rule] of rules) {
        assert.ok(rule.Properties.SourceSecurityGroupId, `${id} has no source security group`);
        assert.equal(rule.Properties.CidrIp ?? rule.Properties.CidrIpv6, undefined, `${id} admits a CIDR`);
      }
      const inline = resourcesOfType(network, 'AWS::EC2::SecurityGroup').filter(([, g]) => g.Properties.SecurityGroupIngress);
      assert.deepEqual(inline, [], 'security groups carry no inline ingress');
    });

    it('admits a CIDR only on the public load balancer (tcp 80/443) and the VPN port', () => {
      const cidrRules = resourcesOfType(network, 'AWS::EC2::SecurityGroupIngress')
        .filter(([, r]) => r.Properties.CidrIp !== undefined)
        .map(([, r]) => `${r.Properties.GroupId['Fn::GetAtt'][0]} ${r.Properties.IpProtocol}/${r.Properties.FromPort}-${r.Properties.ToPort}`);
      assert.deepEqual(cidrRules.sort(), [
        'PublicLbSecurityGroup tcp/443-443',
        'PublicLbSecurityGroup tcp/80-80',
        `VpnSecurityGroup ${config.vpn.protocol}/${config.vpn.port}-${config.vpn.port}`,
      ]);
    });

    it('requires IMDSv2 and encrypts every volume', () => {
      for (const { id, resource } of allResources(stacks)) {
        if (resource.Type === 'AWS::EC2::LaunchTemplate') {
          const data = resource.Properties.LaunchTemplateData;
          assert.equal(data.MetadataOptions.HttpTokens, 'required', id);
          assert.ok(data.BlockDeviceMappings.every((b: Json) => b.Ebs.Encrypted === true), id);
        }
        if (resource.Type === 'AWS::EC2::Instance') assert.ok(resource.Properties.LaunchTemplate, `${id} has no launch template`);
        if (resource.Type === 'AWS::EC2::Volume') assert.equal(resource.Properties.Encrypted, true, id);
      }
    });

    it('retains everything that holds data on delete and on replacement, but not after a failed first create', () => {
      const stateful = ['AWS::EC2::Volume', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup', 'AWS::KMS::Key', 'AWS::EC2::VPC', 'AWS::EC2::Subnet'];
      const found = allResources(stacks).filter((r) => stateful.includes(r.resource.Type));
      // One state volume per master, and the VPN gateway's (its CA), each attached to its instance.
      const volumes = found.filter((r) => r.resource.Type === 'AWS::EC2::Volume').map((r) => r.id);
      assert.deepEqual(volumes.sort(), [...masters.map(([id]) => `${id}State`), 'VpnState'].sort());
      for (const [id, instance] of [...masters, ['VpnGateway', stacks.Vpn!.Resources.VpnGateway] as [string, Json]]) {
        assert.deepEqual(instance.Properties.Volumes.map((v: Json) => v.VolumeId.Ref), [`${id === 'VpnGateway' ? 'Vpn' : id}State`], id);
      }
      for (const { id, resource } of found) {
        assert.equal(resource.DeletionPolicy, 'RetainExceptOnCreate', id);
        assert.equal(resource.UpdateReplacePolicy, 'Retain', id);
      }
    });

    it('logs all VPC traffic to an encrypted log group with a retention period', () => {
      hasResourceProperties(network, 'AWS::EC2::FlowLog', { ResourceId: { Ref: 'Vpc' }, TrafficType: 'ALL' });
      hasResourceProperties(network, 'AWS::Logs::LogGroup', { RetentionInDays: config.flowLogRetentionDays, KmsKeyId: { 'Fn::GetAtt': ['ClusterKey', 'Arn'] } });
    });

    it('installs each DC/OS role from the bundle URL it reads at boot from the root\'s SSM parameter, with the static master list and a CloudFormation signal', () => {
      const sub = (r: Json) => (r.Properties.UserData ?? r.Properties.LaunchTemplateData?.UserData)['Fn::Base64']['Fn::Sub'];
      const cases: [Json, string, string][] = [
        [masters[0]![1], 'master', masters[0]![0]],
        [stacks.Agents!.Resources.PrivateAgentLaunchTemplate, 'slave', 'PrivateAgentGroup'],
        [stacks.Agents!.Resources.PublicAgentLaunchTemplate, 'slave_public', 'PublicAgentGroup'],
      ];
      for (const [res, role, signalled] of cases) {
        const [text, variables] = sub(res);
        assert.equal(variables.Role, role);
        assert.equal(variables.MasterList, JSON.stringify(masterAddresses(config)), `${role} checks the master list`);
        assert.equal(variables.SignalResource, signalled, `${role} signals ${signalled}`);
        assert.ok(text.includes("BUNDLE_URL_PARAMETER='${BundleUrlParameter}'"), `${role} reads the URL from the SSM parameter its stack parameter names`);
        assert.ok(!JSON.stringify(res).includes(config.bundle.bucket), `${role}: no bundle location in the template`);
      }
      assert.deepEqual(sub(masters[0]![1])[1].StateVolume, { Ref: `${masters[0]![0]}State` }, 'a master mounts its state volume');
      for (const [id, r] of [...masters, ['PrivateAgentGroup', stacks.Agents!.Resources.PrivateAgentGroup] as [string, Json]]) {
        assert.ok(r.CreationPolicy?.ResourceSignal?.Timeout, `${id} waits for its signal`);
      }
      // The URL lives in one place: the root's SSM parameter, whose fixed name the root passes down.
      hasResourceProperties(stacks.Root!, 'AWS::SSM::Parameter', { Type: 'String', Value: bundleUrl(config), Name: { 'Fn::Sub': '/dcos-cfn/${AWS::StackName}/bundle-url' } });
      for (const child of ['MasterZone', 'Agents']) {
        assert.deepEqual(stacks.Root!.Resources[child].Properties.Parameters.BundleUrlParameter, { Ref: 'BundleUrl' }, child);
      }
      assert.equal(stacks.Root!.Parameters.DcosInstallerUrl, undefined, 'no bundle URL parameter: the definition says where the bundle is');
    });

    it('lets each DC/OS node role read the bundle URL\'s SSM parameter and no other', () => {
      for (const [stack, role] of [['MasterZone', 'MasterRole'], ['Agents', 'PrivateAgentRole'], ['Agents', 'PublicAgentRole']] as const) {
        const statements = (stacks[stack]!.Resources[role].Properties.Policies as Json[]).flatMap((p) => p.PolicyDocument.Statement as Json[]);
        const ssm = statements.filter((st) => JSON.stringify(st.Action).includes('ssm:GetParameter'));
        assert.deepEqual(ssm, [
          {
            Sid: 'ReadBundleUrl',
            Effect: 'Allow',
            Action: 'ssm:GetParameter',
            Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${BundleUrlParameter}' },
          },
        ], `${stack}/${role}`);
      }
    });

    it(`refuses any Region but ${config.region}, where the bundle's bucket is`, () => {
      const [assertion] = stacks.Root!.Rules.Region.Assertions as Json[];
      assert.deepEqual(assertion.Assert, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, config.region] });
      assert.match(assertion.AssertDescription, new RegExp(`is defined for ${config.region}: .*Deploy it in ${config.region}, or set region in its definition and synth again\\.$`));
    });

    it('reaches S3 through a gateway endpoint on every route table, and lets only that endpoint read the bundle, over TLS', () => {
      const tables = resourcesOfType(network, 'AWS::EC2::RouteTable').map(([id]) => ({ Ref: id }));
      hasResourceProperties(network, 'AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', VpcId: { Ref: 'Vpc' }, ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.s3' } });
      const [[endpoint, props]] = resourcesOfType(network, 'AWS::EC2::VPCEndpoint').map(([id, r]) => [id, r.Properties] as const);
      assert.deepEqual([...props.RouteTableIds].sort((a: Json, b: Json) => a.Ref.localeCompare(b.Ref)), tables.sort((a, b) => a.Ref.localeCompare(b.Ref)));
      const [[, policy]] = resourcesOfType(network, 'AWS::S3::BucketPolicy');
      const bucketArn = `arn:aws:s3:::${config.bundle.bucket}`;
      assert.equal(policy.Properties.Bucket, config.bundle.bucket);
      assert.deepEqual(policy.Properties.PolicyDocument.Statement, [
        { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        {
          Sid: 'ClusterNodesReadTheBundle',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `${bucketArn}/*`,
          Condition: { StringEquals: { 'aws:SourceVpce': { Ref: endpoint } } },
        },
      ]);
      assert.ok(bundleUrl(config).startsWith(`https://${config.bundle.bucket}.s3.${config.region}.amazonaws.com/${config.bundle.prefix}`));
    });

    it("reserves the masters' fixed addresses in their subnets, and gives nothing else in the master zone a fixed address", () => {
      const reservations = resourcesOfType(network, 'AWS::EC2::SubnetCidrReservation').map(([, r]) => r.Properties);
      for (const [id, master] of masters) {
        const subnet = subnetOf(stacks, 'MasterZone', primary(master).SubnetId);
        const held = reservations.filter((r) => r.SubnetId.Ref === subnet);
        assert.equal(held.length, 1, `${id}: one reservation in ${subnet}`);
        assert.equal(held[0]!.ReservationType, 'explicit');
        const [base, prefix] = (held[0]!.Cidr as string).split('/') as [string, string];
        const n = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
        const address = n(primary(master).PrivateIpAddress);
        assert.ok(address >= n(base) && address < n(base) + 2 ** (32 - Number(prefix)), `${id}'s ${primary(master).PrivateIpAddress} is inside ${held[0]!.Cidr}`);
      }
      assert.equal(reservations.length, new Set(masters.map(([, m]) => subnetOf(stacks, 'MasterZone', primary(m).SubnetId))).size);
      assert.equal(primary(stacks.MasterZone!.Resources.AdminInstance).PrivateIpAddress, undefined, 'the dcos-cli instance takes an address EC2 assigns');
      assert.equal(stacks.MasterZone!.Resources.MasterLoadBalancer.Properties.SubnetMappings, undefined, 'the internal load balancer takes addresses EC2 assigns');
    });

    it('lets nothing a routine update changes reach a master: the agents\' image and key, the dcos CLI URL, the bundle URL', () => {
      const zone = stacks.MasterZone!;
      for (const [id] of masters) {
        const reached = [...dependencies(zone, id)].filter((name) => name in (zone.Parameters ?? {})).sort();
        assert.deepEqual(reached, ['BundleUrlParameter', 'MasterImageId', 'MasterKeyName', 'MasterRootDeviceName', 'MasterSecurityGroupId', 'MasterSubnetIds'], id);
      }
      // What the root passes for those: the masters' own parameters, the SSM parameter's fixed name, network outputs.
      const passed = stacks.Root!.Resources.MasterZone.Properties.Parameters as Json;
      for (const p of ['MasterImageId', 'MasterKeyName', 'MasterRootDeviceName']) assert.deepEqual(passed[p], { Ref: p });
      for (const p of ['NodeImageId', 'NodeRootDeviceName', 'DcosInstallerUrl']) assert.equal(passed[p], undefined, `${p} is not passed to the master zone`);
      assert.deepEqual(stacks.Root!.Metadata['dcos:parameterDefaults'], { MasterImageId: 'NodeImageId', MasterRootDeviceName: 'NodeRootDeviceName', MasterKeyName: 'KeyName' });
    });

    it('pushes the masters as DNS servers to VPN clients and routes the VPC to them', () => {
      const [, variables] = stacks.Vpn!.Resources.VpnGateway.Properties.UserData['Fn::Base64']['Fn::Sub'];
      assert.equal(variables.DnsServers, masterAddresses(config).join(' '));
      assert.equal(variables.VpcNetwork, `${config.vpcCidr.split('/')[0]} 255.255.0.0`);
      assert.equal(variables.VpnPort, String(config.vpn.port));
      assert.equal(variables.VpnProtocol, config.vpn.protocol);
    });

    it('keeps secrets out of templates: no key material, passwords or access keys in user data, defaults or outputs', () => {
      const everything = Object.values(stacks).flatMap((t) => strings([t.Resources, t.Outputs, t.Parameters]));
      const secretLike = /-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|aws_secret_access_key|password\s*[=:]/i;
      for (const s of everything) assert.doesNotMatch(s, secretLike);
      for (const t of Object.values(stacks)) {
        for (const [p, decl] of Object.entries((t.Parameters ?? {}) as Record<string, Json>)) {
          if (/pass|secret|token|key$/i.test(p) && !/^(KeyName|KeyArn)$/.test(p)) assert.equal(decl.NoEcho, true, `${p} looks secret`);
        }
      }
    });

    it('outputs the classic four: DcosCli, InternalMaster, PublicSlave, Vpn', () => {
      for (const o of ['DcosCli', 'InternalMaster', 'PublicSlave', 'Vpn']) assert.ok(stacks.Root!.Outputs[o], o);
    });
  });
}
