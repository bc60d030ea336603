#!/bin/bash
# dcos-cfn user data, the part every node starts with. The stack appends the node's own part (dcos-node.sh,
# vpn-gateway.sh or dcos-cli.sh) and CloudFormation's Fn::Sub fills in the inputs each part lists (every dollar
# sign followed by a brace is one), so shell variables are written as $name. Contains no secrets.
#
# Inputs:
#   ${AWS::StackName}, ${AWS::Region}  the stack this node belongs to
#   ${SignalResource}                  the logical ID that waits for this node's signal (instance or group)
#
# Every way out signals CloudFormation: success when the node is really up, failure with the cause otherwise
# (the ERR trap covers any failing line, functions included), so a failed boot fails the stack with its reason.
set -Eeuo pipefail
exec > >(tee -a /var/log/dcos-cfn-bootstrap.log) 2>&1

RESOURCE='${SignalResource}'
CFN_SIGNAL=/opt/aws/bin/cfn-signal

# signal EXIT_CODE REASON: tells CloudFormation; a failure to signal never hides the original problem.
signal() {
  "$CFN_SIGNAL" --exit-code "$1" --reason "$2" --stack '${AWS::StackName}' --resource "$RESOURCE" --region '${AWS::Region}' || true
}

# fail REASON: signals failure with the reason and stops.
fail() {
  trap - ERR
  echo "dcos-cfn: FAILED: $1" >&2
  signal 1 "$RESOURCE: $1"
  exit 1
}
trap 'fail "bootstrap failed at line $LINENO: $BASH_COMMAND (see /var/log/dcos-cfn-bootstrap.log)"' ERR

# wait_for DESCRIPTION SECONDS COMMAND...: runs COMMAND until it succeeds, soon at first (after 1, 2, 4, 8 s), then
# every 10 s; fails once it has waited SECONDS.
wait_for() {
  local what=$1 seconds=$2 waited=0 pause=1
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$waited" -lt "$seconds" ] || fail "timed out after $seconds s waiting for $what"
    sleep "$pause"
    waited=$((waited + pause))
    pause=$((pause < 5 ? pause * 2 : 10))
  done
}

# fetch URL FILE: downloads over HTTPS only (TLS 1.2 or later, a verified certificate, redirects to HTTPS only: what
# is fetched runs as root, and plain http could be swapped in transit), with bounded retries of transient errors (no
# answer, 5xx); an answer such as 404 fails at once, naming the URL and the status.
fetch() {
  local status
  case "$1" in
    https://*) ;;
    *) fail "refusing to fetch $1: only https:// URLs are downloaded (plain http could be swapped in transit)" ;;
  esac
  status=$(curl -sSL --proto '=https' --proto-redir '=https' --tlsv1.2 \
    --connect-timeout 10 --max-time 300 --retry 10 --retry-connrefused --retry-delay 5 --retry-max-time 600 \
    -o "$2" -w '%{http_code}' "$1") || true
  [ "$status" = 200 ] || fail "could not fetch $1: $([ "$status" = 000 ] || [ -z "$status" ] && echo 'no answer' || echo "HTTP $status")"
}

# apt_install PACKAGE...: makes sure the packages are installed. Package lists are fetched only when one is missing
# (an image that has them boots without the internet), nothing installed is upgraded, and while another apt holds
# the lock (unattended-upgrades at first boot) it waits up to 10 minutes, then fails naming the holder.
APT_LOCK_TIMEOUT=600
apt_get() {
  local log=/run/dcos-cfn-apt.log cause
  if DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" -o Acquire::Retries=5 "$@" 2>&1 | tee "$log"; then
    return 0
  fi
  cause=$(grep -o 'Could not get lock.*' "$log" | tail -n 1 || true)
  [ -n "$cause" ] && cause="$cause (waited $APT_LOCK_TIMEOUT s)" || cause=$(grep -m 1 '^E:' "$log" || tail -n 1 "$log")
  fail "apt-get $1 failed: $cause"
}
apt_install() {
  local missing="" package
  for package in "$@"; do
    dpkg-query -s "$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $package"
  done
  if [ -n "$missing" ]; then
    echo "dcos-cfn: installing$missing"
    apt_get update
  fi
  apt_get install --no-upgrade "$@"
}

# Amazon Linux ships cfn-signal; elsewhere it comes from AWS's aws-cfn-bootstrap package.
ensure_cfn_signal() {
  [ -x "$CFN_SIGNAL" ] && return 0
  if command -v cfn-signal >/dev/null; then CFN_SIGNAL=$(command -v cfn-signal); return 0; fi
  if command -v apt-get >/dev/null; then apt_install python3-pip; else yum install -y python3-pip; fi
  local package=https://s3.amazonaws.com/cloudformation-examples/aws-cfn-bootstrap-py3-latest.tar.gz
  python3 -m pip install --retries 5 --timeout 30 --break-system-packages "$package" \
    || python3 -m pip install --retries 5 --timeout 30 "$package"
  CFN_SIGNAL=$(command -v cfn-signal)
}
ensure_cfn_signal

# The AWS CLI, from AWS's own installer for this machine's architecture when the image lacks it: uname -m says
# x86_64 or aarch64, the names of AWS's two Linux builds (it needs curl and unzip, both DC/OS prerequisites).
ensure_aws_cli() {
  command -v aws >/dev/null && return 0
  fetch "https://awscli.amazonaws.com/awscli-exe-linux-$(uname -m).zip" /tmp/awscliv2.zip
  unzip -q -o /tmp/awscliv2.zip -d /tmp && /tmp/aws/install
}

# read_ssm_parameter VARIABLE NAME: sets VARIABLE to the value of SSM parameter NAME, read with the instance role. A
# final answer (no such parameter, access denied) fails at once; anything else (the role's credentials not there yet
# at first boot, throttling, no answer) is tried again for up to 2 minutes. The failure names AWS's answer.
read_ssm_parameter() {
  local answer waited=0
  until answer=$(aws ssm get-parameter --region '${AWS::Region}' --name "$2" --query Parameter.Value --output text 2>&1); do
    if [ "$waited" -ge 120 ] || echo "$answer" | grep -q 'ParameterNotFound\|AccessDenied'; then
      fail "could not read SSM parameter $2: $(echo "$answer" | grep -v '^\s*$' | tail -n 1)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
  printf -v "$1" '%s' "$answer"
}

# mount_state_volume VOLUME_ID MOUNT_POINT UNIT...: mounts a retained EBS volume, formatting it only when blank. The
# device is found by the volume's own ID (Nitro instances name EBS volumes nvme-Amazon_Elastic_Block_Store_vol<id>
# under /dev/disk/by-id, in no fixed order; Xen ones show /dev/xvdf), so an instance-store disk or a stray volume
# is never taken for it. A volume that never appears fails the boot: nothing may start on an empty root-disk
# directory. On later boots fstab mounts it (nofail: the instance still boots, so it can be reached), and each UNIT
# (the services that keep their data there) requires the mount, so none of them starts on an empty directory.
mount_state_volume() {
  local volume=$1 mount_point=$2 device="" options=defaults,nofail unit
  shift 2
  for unit in "$@"; do options="$options,x-systemd.required-by=$unit,x-systemd.before=$unit"; done
  local by_id
  by_id="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo "$volume" | tr -d -)"
  find_device() {
    if [ -b "$by_id" ]; then device=$(readlink -f "$by_id"); return 0; fi
    if [ -b /dev/xvdf ] && [ ! -e /dev/nvme0n1 ]; then device=/dev/xvdf; return 0; fi
    return 1
  }
  wait_for "state volume $volume to be attached" 600 find_device
  find_device
  if ! blkid "$device" >/dev/null; then
    echo "dcos-cfn: $volume ($device) is blank: formatting it"
    mkfs -t xfs "$device"
  fi
  mkdir -p "$mount_point"
  local uuid
  uuid=$(blkid -s UUID -o value "$device")
  grep -q " $mount_point " /etc/fstab \
    || echo "UUID=$uuid $mount_point xfs $options 0 2" >> /etc/fstab
  mountpoint -q "$mount_point" || mount "$mount_point" || fail "could not mount state volume $volume ($device) at $mount_point"
  [ "$(findmnt -n -o UUID "$mount_point")" = "$uuid" ] || fail "$mount_point is not state volume $volume"
}
