/**
 * The DC/OS configuration of a cluster: the `genconf/` folder that DC/OS's `dcos_generate_config.sh` turns into the
 * install bundle (`genconf/serve`). It is made from the same definition as the templates, so it agrees with them by
 * construction: the static master list is the masters' fixed addresses, `bootstrap_url` is where the nodes fetch the
 * bundle (the SSM parameter the root template writes), the resolver is the VPC's, Exhibitor keeps its state on the
 * masters (static backend: no bucket, no credentials).
 *
 * `ip-detect` and `fault-domain-detect` are real shell files in `stacks/genconf/`, read once when this module loads,
 * like the user-data programs. The functions here are pure.
 *
 * Keys and their meaning: DC/OS 2.2 `gen/calc.py` and `dcos_installer/config.py` (github.com/dcos/dcos), and the
 * DC/OS documentation's configuration reference.
 */
import { readFileSync } from 'node:fs';
import { bundleUrl, masterAddresses, type ClusterConfig } from './config.js';
import { GENCONF_FOLDER } from '../lib/manifest.js';

/** The Amazon DNS server's link-local address, the same in every VPC (Amazon VPC User Guide, "Amazon DNS server"). */
export const VPC_RESOLVER = '169.254.169.253';

/** Every file synth may write into `genconf/`. */
export const GENCONF_FILE_NAMES = ['config.yaml', 'ip-detect', 'fault-domain-detect'] as const;

export interface GenconfFile {
  /** File name inside `genconf/`. */
  readonly name: (typeof GENCONF_FILE_NAMES)[number];
  readonly content: string;
  /** Programs DC/OS runs (ip-detect, fault-domain-detect) are written executable. */
  readonly executable: boolean;
}

const SCRIPTS_DIR = new URL('../../stacks/genconf/', import.meta.url);
const script = (name: string) => readFileSync(new URL(name, SCRIPTS_DIR), 'utf8');
const IP_DETECT = script('ip-detect');
const FAULT_DOMAIN_DETECT = script('fault-domain-detect');

/** The keys of `config.yaml`, in the order they are written. */
export function dcosConfig(config: ClusterConfig): Record<string, string | readonly string[]> {
  return {
    cluster_name: config.name,
    // dcos_install.sh fetches bootstrap/<id>.bootstrap.tar.xz, package lists and packages from here with plain curl.
    bootstrap_url: bundleUrl(config),
    master_discovery: 'static',
    master_list: masterAddresses(config),
    exhibitor_storage_backend: 'static',
    resolvers: [VPC_RESOLVER],
    ip_detect_filename: `${GENCONF_FOLDER}/ip-detect`,
    ...(config.availabilityZones > 1 ? { fault_domain_detect_filename: `${GENCONF_FOLDER}/fault-domain-detect` } : {}),
    // The VPC has no IPv6. DC/OS 2.2's patching guide recommends enable_ipv6 false for new clusters (overlay networks).
    enable_ipv6: 'false',
  };
}

/** A scalar YAML reads back as this very string: plain when unambiguous, else double-quoted (JSON is valid YAML). */
function scalar(value: string): string {
  const plain = /^[A-Za-z0-9][A-Za-z0-9._/:-]*$/.test(value) && !/^(true|false|yes|no|on|off|y|n|null|[-+.\d][\d._:eE+-]*)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

/**
 * config.yaml's text: keys in order, strings and lists of strings (all config.yaml holds here). Written by hand, not
 * by a YAML library, so that synth does not load one for a dozen lines; test/genconf.test.ts parses it back.
 */
function toYaml(values: Record<string, string | readonly string[]>): string {
  return Object.entries(values)
    .map(([key, value]) => (typeof value === 'string' ? `${key}: ${scalar(value)}\n` : `${key}:\n${value.map((v) => `  - ${scalar(v)}\n`).join('')}`))
    .join('');
}

/** Every file of `genconf/`: config.yaml, ip-detect and, for a definition over more than one AZ, fault-domain-detect. */
export function genconfFiles(config: ClusterConfig): GenconfFile[] {
  const header = [
    `# DC/OS configuration of cluster '${config.name}', written by 'npm run synth' from its definition: change the`,
    `# definition and synth again rather than editing this file. Make the install bundle with DC/OS's`,
    `# dcos_generate_config.sh in a copy of this folder, then upload its genconf/serve with 'npm run bundle' (README).`,
  ].join('\n');
  return [
    { name: 'config.yaml', content: `${header}\n${toYaml(dcosConfig(config))}`, executable: false },
    { name: 'ip-detect', content: IP_DETECT, executable: true },
    ...(config.availabilityZones > 1 ? [{ name: 'fault-domain-detect', content: FAULT_DOMAIN_DETECT, executable: true } as const] : []),
  ];
}
