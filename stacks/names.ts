/**
 * Logical IDs and output names that more than one stack uses. Chosen by hand and stable: a renamed
 * logical ID replaces the resource.
 */

/** Nested stacks, by logical ID in the root template. */
export const StackIds = {
  Network: 'Network',
  MasterZone: 'MasterZone',
  Agents: 'Agents',
  Vpn: 'Vpn',
} as const;

export type StackId = keyof typeof StackIds;

/** The file each nested stack is written to in `out/`. */
export const STACK_FILES: Record<StackId, string> = {
  Network: 'network.yaml',
  MasterZone: 'master-zone.yaml',
  Agents: 'agents.yaml',
  Vpn: 'vpn.yaml',
};

export const ROOT_FILE = 'root.yaml';

export type ZoneName = 'Public' | 'Master' | 'PrivateAgent' | 'PublicAgent';
export type SecurityGroupName = 'Master' | 'MasterLb' | 'PrivateAgent' | 'PublicAgent' | 'PublicLb' | 'Vpn' | 'Admin';

export const SubnetIds = {
  /** `PublicSubnet1`, `MasterSubnet2`, ... (AZ numbers start at 1). */
  subnet: (zone: ZoneName, az: number) => `${zone}Subnet${az}`,
  /** Network output and child parameter holding a zone's subnets, comma-joined in AZ order. */
  list: (zone: ZoneName) => `${zone}SubnetIds`,
};

export const SecurityGroupIds = {
  group: (name: SecurityGroupName) => `${name}SecurityGroup`,
  /** Network output and child parameter holding a group's ID. */
  output: (name: SecurityGroupName) => `${name}SecurityGroupId`,
};

/** Master logical IDs: `Master1`..`Master5`. */
export const masterId = (i: number) => `Master${i + 1}`;
