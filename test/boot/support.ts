/**
 * What every boot test shares: whether this machine can run them (root, /dev/net/tun, the Debian packages
 * .ci/run installs), skipping with a visible notice naming what is missing when it cannot; a count of the boot
 * tests that ran, printed at the end of the run (.ci/run repeats it); bounds on every wait.
 */
import { motoAvailable, motoEnv, startMoto, type Moto } from '../moto.js';
import { awsCli, bootPrerequisitesMissing } from './sandbox.js';

/** The longest a boot may take here; real boots are bounded by each program's own waits. */
export const BOOT_TIMEOUT_MS = 60_000;

let missing: string[] | undefined;
let noticed = false;
const counts = { passed: 0, failed: 0, skipped: 0 };

afterEach(function () {
  const test = this.currentTest;
  if (!test?.titlePath()[0]?.startsWith('boot:')) return;
  if (test.state === 'passed') counts.passed++;
  else if (test.state === 'failed') counts.failed++;
  else counts.skipped++;
});

after(() => {
  const total = counts.passed + counts.failed + counts.skipped;
  if (total > 0) console.log(`\nBoot tests: ${counts.passed + counts.failed} ran (${counts.failed} failing), ${counts.skipped} skipped`);
});

export const bootTest = {
  /** False (and the suite skipped, with a notice) when the machine cannot run boot tests. */
  canRun(context: Mocha.Context): boolean {
    missing ??= bootPrerequisitesMissing();
    if (missing.length === 0) return true;
    if (!noticed) {
      console.log(`      notice: boot tests skipped, this machine lacks: ${missing.join(', ')} (.ci/run installs the packages)`);
      noticed = true;
    }
    context.skip();
    return false;
  },

  /**
   * moto for a boot suite, or the suite skipped with a notice: every node reads its bundle URL from SSM, and the VPN
   * gateway writes to S3, with the AWS CLI, against the emulator.
   */
  async startMoto(context: Mocha.Context): Promise<Moto> {
    if (!motoAvailable() || !awsCli()) {
      console.log('      notice: the boot tests need moto (SSM, S3) and the AWS CLI (the nodes call them with it); skipped');
      context.skip();
    }
    motoEnv();
    return startMoto();
  },

  /**
   * Ubuntu's resolver for the dcos-cli instance, where no systemd runs: a `systemd-resolved` unit whose stand-in
   * reads /etc/systemd/resolved.conf.d as resolved does (DNS=, and Domains=~x routing those names to those
   * servers) and answers on resolved's stub address 127.0.0.53, everything else through the VPC resolver.
   */
  resolvedStandIn(): Record<string, string> {
    return {
      '/etc/resolv.conf': 'nameserver 127.0.0.53\nsearch .\n',
      '/etc/systemd/system/systemd-resolved.service': '[Unit]\nDescription=resolved (boot-test stand-in)\n[Service]\nExecStart=/usr/local/lib/resolved-standin\n',
      '/usr/local/lib/resolved-standin': `#!/bin/bash
set -euo pipefail
args=(--keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv --bind-interfaces --listen-address=127.0.0.53 --user=nobody --pid-file=)
dns=$(sed -n 's/^DNS=//p' /etc/systemd/resolved.conf.d/*.conf)
for domain in $(sed -n 's/^Domains=//p' /etc/systemd/resolved.conf.d/*.conf); do
  for server in $dns; do args+=("--server=/\${domain#\\~}/$server"); done
done
exec dnsmasq "\${args[@]}" --server=169.254.169.253
`,
    };
  },
};

/** A bash snippet (run before the user data) that holds apt's lock the way unattended-upgrades does, for `seconds`. */
export function holdAptLock(seconds: number): string {
  return `/usr/bin/python3 - <<'PY' &
import fcntl, os, time
fd = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
fcntl.lockf(fd, fcntl.LOCK_EX)
open("/run/apt-lock-held", "w").close()
time.sleep(${seconds})
PY
for i in $(seq 100); do [ -e /run/apt-lock-held ] && exit 0; sleep 0.05; done
exit 1
`;
}
