import { defineCluster } from '../config.js';

/**
 * Highly available: 3 masters over 3 Availability Zones (losing one AZ keeps the ZooKeeper quorum), a NAT
 * gateway per AZ, agents spread over the same AZs.
 */
export default defineCluster({
  name: 'dcos-ha',
  description: 'Highly available DC/OS cluster over 3 AZs with a private master zone, reachable by admins only through OpenVPN',
  availabilityZones: 3,
  natGatewayPerAz: true,
  masters: { count: 3 },
  privateAgents: { count: 6 },
  publicAgents: { count: 3 },
});
