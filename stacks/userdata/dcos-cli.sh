# shellcheck shell=bash
# The dcos-cli admin instance (Ubuntu). Follows common.sh in the same user data.
#
# Inputs:
#   ${DnsServers}  the masters' addresses, space-separated: *.mesos resolves through Mesos-DNS on them
#   ${DcosCliUrl}  HTTPS URL of the dcos CLI binary; empty to skip (its AllowedPattern admits no character that
#                  could end the single quotes it is put in)
#
# Resolves *.mesos through the masters (everything else through the VPC resolver), installs the dcos CLI when a
# URL is given and points it at http://leader.mesos.

mkdir -p /etc/systemd/resolved.conf.d
{
  echo '[Resolve]'
  echo 'DNS=${DnsServers}'
  echo 'Domains=~mesos'
} > /etc/systemd/resolved.conf.d/mesos.conf
systemctl restart systemd-resolved

CLI_URL='${DcosCliUrl}'
if [ -n "$CLI_URL" ]; then
  fetch "$CLI_URL" /usr/local/bin/dcos
  chmod 755 /usr/local/bin/dcos
  cat > /etc/profile.d/dcos.sh <<'PROFILE'
# Run 'dcos cluster setup http://leader.mesos' once to log in to the cluster.
export DCOS_URL=http://leader.mesos
PROFILE
fi
signal 0 "$RESOURCE: admin instance ready"
