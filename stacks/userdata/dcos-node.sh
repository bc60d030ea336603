# shellcheck shell=bash
# DC/OS node (master, private or public agent). Follows common.sh in the same user data.
#
# Inputs:
#   ${BundleUrlParameter}  name of the SSM parameter that holds the HTTPS URL of the DC/OS install bundle (the
#                          genconf/serve folder of dcos_generate_config.sh, the bootstrap_url of its config.yaml)
#   ${Role}              the DC/OS role to install: master, slave or slave_public
#   ${MasterList}        the static master list these templates placed, as JSON: ["10.0.8.10"]
#   ${HealthPort}        the Mesos health port: 5050 on masters, 5051 on agents
#   ${StateVolume}       masters: the EBS volume ID of the retained state volume; agents: empty
#
# Mounts a master's state volume, waits for DNS, reads the bundle URL, checks that the bundle was made for this URL
# and these masters, installs, waits for Mesos to answer its health check on the address DC/OS detects, and signals.
# The bundle URL is read at boot, not written here: a new URL changes an SSM parameter, never a running node.

ROLE='${Role}'
BUNDLE_URL_PARAMETER='${BundleUrlParameter}'
EXPECTED_MASTERS='${MasterList}'
HEALTH_PORT='${HealthPort}'
STATE_VOLUME='${StateVolume}'

# A master's state (ZooKeeper, the Mesos replicated log) lives on its retained volume, mounted before anything is
# installed so that nothing is ever written to the root disk in its place.
if [ -n "$STATE_VOLUME" ]; then
  mount_state_volume "$STATE_VOLUME" /var/lib/dcos dcos-exhibitor.service dcos-mesos-master.service
fi

# DNS: DC/OS forwards to the VPC resolver; make sure it answers before installing.
wait_for "the VPC resolver 169.254.169.253 to answer" 300 getent hosts s3.amazonaws.com

ensure_aws_cli
read_ssm_parameter INSTALLER_URL "$BUNDLE_URL_PARAMETER"

# The bundle's static master list must be exactly the masters these templates placed, checked before installing:
# dcos_install.sh names the cluster's package list, which names the dcos-config package, which holds etc/master_list.
BUNDLE=/opt/dcos-cfn/bundle
mkdir -p "$BUNDLE"
fetch "$INSTALLER_URL/dcos_install.sh" "$BUNDLE/dcos_install.sh"
# dcos_install.sh fetches everything else from the bootstrap_url it was generated with: it must be this URL.
REPOSITORY_URL=$(awk '/setup-flags\/repository-url"$/ { getline; print; exit }' "$BUNDLE/dcos_install.sh")
[ "$REPOSITORY_URL" = "$INSTALLER_URL" ] \
  || fail "the DC/OS bundle at $INSTALLER_URL was generated for bootstrap_url '$REPOSITORY_URL': make it from the genconf/ folder synth wrote (bootstrap_url $INSTALLER_URL) and upload it with npm run bundle"
LIST_ID=$(awk '/setup-flags\/cluster-package-list"$/ { getline; print; exit }' "$BUNDLE/dcos_install.sh")
[ -n "$LIST_ID" ] || fail "$INSTALLER_URL/dcos_install.sh names no cluster package list: is the genconf/serve folder of dcos_generate_config.sh uploaded there (npm run bundle)?"
fetch "$INSTALLER_URL/package_lists/$LIST_ID.package_list.json" "$BUNDLE/package_list.json"
CONFIG_PACKAGE=$(grep -o 'dcos-config--setup_[0-9a-f]*' "$BUNDLE/package_list.json" | head -n 1) \
  || fail "the bundle's package list $LIST_ID names no dcos-config package"
fetch "$INSTALLER_URL/packages/dcos-config/$CONFIG_PACKAGE.tar.xz" "$BUNDLE/dcos-config.tar.xz"
MASTERS=$(tar -xJOf "$BUNDLE/dcos-config.tar.xz" etc/master_list | tr -d ' \n') \
  || fail "the DC/OS bundle has no static master_list: make it from the genconf/ folder synth wrote (master_list $EXPECTED_MASTERS)"
[ "$MASTERS" = "$EXPECTED_MASTERS" ] \
  || fail "the DC/OS bundle's master_list is $MASTERS, expected $EXPECTED_MASTERS: make the bundle from the genconf/ folder synth wrote"

bash "$BUNDLE/dcos_install.sh" "$ROLE"

# Mesos binds to the address DC/OS detects (not 127.0.0.1): ask it there.
NODE_IP=$(/opt/mesosphere/bin/detect_ip)
wait_for "DC/OS $ROLE health on $NODE_IP:$HEALTH_PORT" 1200 curl -fsS --max-time 5 "http://$NODE_IP:$HEALTH_PORT/health"
signal 0 "$RESOURCE: DC/OS $ROLE is up"
