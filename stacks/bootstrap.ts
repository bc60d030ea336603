/**
 * User data. Each node's program is a real shell file in `stacks/userdata/` — `common.sh` (logging, signalling,
 * waiting, apt, the state volume) followed by the node's own part — put into `Fn::Sub` with the variables each
 * file documents at its top, so `${AWS::StackName}`, parameters and resource IDs resolve at deploy time. Every
 * program ends in a CloudFormation signal: success when the node is really up, failure with the cause otherwise.
 *
 * The files are read once, when this module loads, like source code: the stack functions stay pure (the same
 * config gives the same template). No secret ever appears here: the DC/OS bundle comes from a URL (read at boot from
 * an SSM parameter), VPN credentials are made on the gateway.
 */
import { readFileSync } from 'node:fs';
import type { Value } from 'cloudform-types/types/dataTypes.js';
import { Fn, Ref } from '../lib/template.js';

/** The user-data programs, by file name; the source of truth is `stacks/userdata/*.sh`. */
export const USER_DATA_FILES = ['common.sh', 'dcos-node.sh', 'vpn-gateway.sh', 'dcos-cli.sh'] as const;
type UserDataFile = (typeof USER_DATA_FILES)[number];

const USER_DATA_DIR = new URL('../../stacks/userdata/', import.meta.url);
const sources = Object.fromEntries(USER_DATA_FILES.map((f) => [f, readFileSync(new URL(f, USER_DATA_DIR), 'utf8')])) as Record<UserDataFile, string>;

/** `common.sh` followed by the node's part, as `!Base64 !Sub [program, variables]`. */
function userData(file: Exclude<UserDataFile, 'common.sh'>, variables: Record<string, Value<string>>) {
  return Fn.base64(Fn.sub(`${sources['common.sh']}\n${sources[file]}`, variables));
}

/** DC/OS roles as the installer names them. */
export type DcosRole = 'master' | 'slave' | 'slave_public';

export interface DcosNodeProps {
  /** The DC/OS role to install. */
  readonly role: DcosRole;
  /** Logical ID of the resource to signal (the instance or the auto scaling group). */
  readonly resourceId: string;
  /** The static master list the cluster is built around (fixed master addresses). */
  readonly masterAddresses: readonly string[];
  /** Port of the Mesos health endpoint (5050 master, 5051 agent); Mesos listens on the node's DC/OS address. */
  readonly healthPort: number;
  /** Masters mount their retained state volume (this resource's logical ID) first. @default none (agents) */
  readonly stateVolume?: string;
}

/**
 * A DC/OS node (`dcos-node.sh`): mounts a master's state volume, waits for DNS, reads the bundle URL from the SSM
 * parameter the `BundleUrlParameter` stack parameter names, checks that the bundle there was generated for that
 * URL and names exactly the masters these templates placed, installs the role, waits for the node's Mesos health
 * endpoint, and signals. Nothing in the program changes with the bundle URL, the agents' image or the key pair.
 */
export function dcosNodeUserData(props: DcosNodeProps) {
  return userData('dcos-node.sh', {
    SignalResource: props.resourceId,
    Role: props.role,
    MasterList: JSON.stringify(props.masterAddresses),
    HealthPort: String(props.healthPort),
    StateVolume: props.stateVolume ? Ref(props.stateVolume) : '',
  });
}

export interface VpnGatewayProps {
  readonly resourceId: string;
  readonly port: number;
  readonly protocol: 'udp' | 'tcp';
  /** VPN client pool, as network address and netmask. */
  readonly clientNetwork: readonly [string, string];
  /** The VPC range routed to clients, as network address and netmask. */
  readonly vpcNetwork: readonly [string, string];
  readonly vpcCidr: string;
  readonly clientCidr: string;
  /** Masters' addresses, pushed to clients as DNS servers so `leader.mesos` resolves. */
  readonly dnsServers: readonly string[];
  /** Logical ID of the retained volume that keeps the PKI (the CA signs every client profile). */
  readonly stateVolume: string;
}

/**
 * The OpenVPN gateway (`vpn-gateway.sh`, Ubuntu): makes its own CA, server and client certificates with easy-rsa
 * on its state volume, routes the VPC to clients, pushes the masters as DNS servers, masquerades client traffic
 * so cluster security groups see the gateway's group, and uploads the admin client profile to the KMS-encrypted,
 * IAM-protected profile bucket. Also reads the stack's `VpnAddress`, `ProfileBucket` and `KeyArn`.
 */
export function vpnGatewayUserData(props: VpnGatewayProps) {
  return userData('vpn-gateway.sh', {
    SignalResource: props.resourceId,
    VpnPort: String(props.port),
    VpnProtocol: props.protocol,
    ClientNetwork: props.clientNetwork.join(' '),
    ClientCidr: props.clientCidr,
    VpcNetwork: props.vpcNetwork.join(' '),
    VpcCidr: props.vpcCidr,
    DnsServers: props.dnsServers.join(' '),
    StateVolume: Ref(props.stateVolume),
  });
}

export interface AdminUserDataProps {
  readonly resourceId: string;
  readonly dnsServers: readonly string[];
}

/**
 * The dcos-cli admin instance (`dcos-cli.sh`, Ubuntu): resolves `*.mesos` through the masters, installs the dcos
 * CLI from the `DcosCliUrl` parameter when one is given, and points it at `http://leader.mesos`.
 */
export function adminUserData(props: AdminUserDataProps) {
  return userData('dcos-cli.sh', { SignalResource: props.resourceId, DnsServers: props.dnsServers.join(' ') });
}
