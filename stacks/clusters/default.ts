import { defineCluster } from '../config.js';

/**
 * The classic cluster: 1 master, 5 private agents, 1 public agent, one OpenVPN gateway and one dcos-cli admin
 * instance, in one Availability Zone.
 */
export default defineCluster({
  name: 'dcos',
});
