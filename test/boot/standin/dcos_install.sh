#!/bin/bash
# Stand-in for a DC/OS bundle's dcos_install.sh (genconf/serve of dcos_generate_config.sh), served by the boot
# tests. Shaped like the real one where the node bootstrap reads it: the setup-flags heredocs naming the bundle and
# its cluster package list. Like the real one it refuses a node that already has DC/OS, writes the roles and
# setup flags, installs the packages of the cluster's package list from the bundle (the dcos-config package
# brings etc/master_list and bin/detect_ip) and writes and starts systemd units. Its units are stand-ins: the
# Mesos health endpoint, Admin Router on port 80 and Mesos-DNS (answering leader.mesos), all on the address
# DC/OS detects. It records how it was run in /opt/mesosphere/standin-install.json, and a master's install in
# /var/lib/dcos/standin-state.
#
# Filled in by the tests: @REPOSITORY_URL@, @LIST_ID@, @LEADER@, @START_MESOS@ (no: Mesos never comes up).
# shellcheck disable=SC2046,SC2050  # the real installer's backquoted dirname; @START_MESOS@ is filled in by the tests
set -o errexit -o nounset -o pipefail

if [[ $EUID -ne 0 ]]; then echo "This script must be run as root" >&2; exit 1; fi
ROLES="$*"
[ -n "$ROLES" ] || { echo "usage: dcos_install.sh <role>..." >&2; exit 1; }
for role in $ROLES; do
  case $role in master | slave | slave_public) ;; *) echo "unknown role $role" >&2; exit 1 ;; esac
done
if [ -d /opt/mesosphere ] && [ -n "$(ls -A /opt/mesosphere)" ]; then
  echo "Found an existing DC/OS installation." >&2
  exit 1
fi

mkdir -p /etc/mesosphere/roles /etc/mesosphere/setup-flags
for role in $ROLES; do touch "/etc/mesosphere/roles/$role"; done

mkdir -p `dirname /etc/mesosphere/setup-flags/repository-url`
cat <<'EOF' > "/etc/mesosphere/setup-flags/repository-url"
@REPOSITORY_URL@
EOF
chmod 0644 /etc/mesosphere/setup-flags/repository-url

mkdir -p `dirname /etc/mesosphere/setup-flags/cluster-package-list`
cat <<'EOF' > "/etc/mesosphere/setup-flags/cluster-package-list"
@LIST_ID@
EOF
chmod 0644 /etc/mesosphere/setup-flags/cluster-package-list

# pkgpanda's part: the packages of the cluster's package list, from the bundle.
repository=$(cat /etc/mesosphere/setup-flags/repository-url)
list_id=$(cat /etc/mesosphere/setup-flags/cluster-package-list)
mkdir -p /opt/mesosphere
for package in $(curl -fsS "$repository/package_lists/$list_id.package_list.json" | tr -d '[]",'); do
  curl -fsS "$repository/packages/${package%%--*}/$package.tar.xz" | tar -xJ -C /opt/mesosphere
done

node_ip=$(/opt/mesosphere/bin/detect_ip)
state_mount=$(findmnt -n -o SOURCE,FSTYPE --target /var/lib/dcos 2>/dev/null || echo none)
python3 -c 'import json, sys; print(json.dumps({"roles": sys.argv[1].split(), "masterList": json.loads(sys.argv[2]), "nodeIp": sys.argv[3], "varLibDcos": sys.argv[4]}))' \
  "$ROLES" "$(cat /opt/mesosphere/etc/master_list)" "$node_ip" "$state_mount" > /opt/mesosphere/standin-install.json

unit() { # unit NAME COMMAND...: writes a unit as the real installer does
  printf '[Unit]\nDescription=%s (boot-test stand-in)\n[Service]\nExecStart=%s\n' "$1" "${*:2}" > "/etc/systemd/system/$1.service"
}
mkdir -p /opt/mesosphere/standin/health /opt/mesosphere/standin/ui
touch /opt/mesosphere/standin/health/health
echo '<html><title>DC/OS</title></html>' > /opt/mesosphere/standin/ui/index.html
if [[ " $ROLES " == *" master "* ]]; then
  mkdir -p /var/lib/dcos/exhibitor/zookeeper
  echo "installed on $(hostname) at $(date -u +%FT%TZ)" >> /var/lib/dcos/standin-state
  unit dcos-mesos-master /usr/bin/python3 -m http.server --bind "$node_ip" --directory /opt/mesosphere/standin/health 5050
  unit dcos-adminrouter /usr/bin/python3 -m http.server --bind "$node_ip" --directory /opt/mesosphere/standin/ui 80
  unit dcos-mesos-dns /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv --bind-interfaces \
    "--listen-address=$node_ip" --server=169.254.169.253 --address=/leader.mesos/@LEADER@ --user=nobody --pid-file=
  units="dcos-adminrouter dcos-mesos-dns"
  mesos=dcos-mesos-master
else
  unit dcos-mesos-slave /usr/bin/python3 -m http.server --bind "$node_ip" --directory /opt/mesosphere/standin/health 5051
  units=""
  mesos=dcos-mesos-slave
fi
if [ "@START_MESOS@" != no ]; then units="$units $mesos"; fi
for u in $units; do systemctl start "$u"; done
