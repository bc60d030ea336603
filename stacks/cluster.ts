/**
 * The whole cluster: one pure function per stack, config in, template object out. The root needs the children's
 * content hashes for their URLs, so it is built after they are serialized (see lib/synth.ts).
 */
import { agentsStack } from './agents.js';
import type { ClusterConfig } from './config.js';
import { masterZoneStack } from './master-zone.js';
import type { StackId } from './names.js';
import { networkStack } from './network.js';
import { vpnStack } from './vpn.js';
import type { StackTemplate } from '../lib/template.js';

export { rootStack } from './root.js';

/** The nested stacks, in deployment order. */
export function childStacks(config: ClusterConfig): Record<StackId, StackTemplate> {
  return {
    Network: networkStack(config),
    MasterZone: masterZoneStack(config),
    Agents: agentsStack(config),
    Vpn: vpnStack(config),
  };
}
