# shellcheck shell=bash
# The OpenVPN gateway (Ubuntu). Follows common.sh in the same user data.
#
# Inputs:
#   ${VpnPort}, ${VpnProtocol}  where OpenVPN listens: the definition's vpn.port and vpn.protocol (default 1194, udp)
#   ${ClientNetwork}            the client address pool as network and netmask: 10.255.0.0 255.255.255.0
#   ${ClientCidr}               the same pool as a CIDR: 10.255.0.0/24
#   ${VpcNetwork}               the VPC range routed to clients, as network and netmask: 10.0.0.0 255.255.0.0
#   ${VpcCidr}                  the same range as a CIDR: 10.0.0.0/16
#   ${DnsServers}               the masters' addresses, space-separated, pushed to clients as DNS servers
#   ${StateVolume}              the EBS volume ID of the retained volume that keeps the PKI
#   ${VpnAddress}               the gateway's Elastic IP, the address client profiles connect to
#   ${ProfileBucket}, ${KeyArn} where the admin client profile goes, and the KMS key that encrypts it
#
# Makes (or, on a rebuilt gateway, keeps) its own CA, server and client certificates with easy-rsa: nothing secret
# ever leaves the instance except the admin client profile, which goes to the encrypted, IAM-protected bucket.

VPN_PORT='${VpnPort}'
VPN_PROTOCOL='${VpnProtocol}'
CLIENT_CIDR='${ClientCidr}'
DNS_SERVERS='${DnsServers}'
VPC_CIDR='${VpcCidr}'
PKI=/var/lib/dcos-vpn/easy-rsa

# The PKI lives on the retained, encrypted state volume: a rebuilt gateway keeps the CA, so profiles stay valid.
mount_state_volume '${StateVolume}' /var/lib/dcos-vpn openvpn-server@dcos.service

apt_install openvpn easy-rsa iptables-persistent curl unzip
ensure_aws_cli

# The PKI, made once (a half-made one, from a boot that died midway, is made again). easy-rsa 3.1 refuses an
# external common name for build-*-full, so EASYRSA_REQ_CN names the CA only.
if [ ! -f "$PKI/tls-crypt.key" ]; then
  rm -rf "$PKI"
  make-cadir "$PKI"
  cd "$PKI"
  # OpenVPN refuses every client once crl.pem expires, and easy-rsa's default is 180 days: in vars, so that a
  # revocation list made later by hand (README: revoking a client) lasts as long. Certificates last 825 days.
  echo 'set_var EASYRSA_CRL_DAYS 3650' >> vars
  export EASYRSA_BATCH=1
  ./easyrsa init-pki
  EASYRSA_REQ_CN=dcos-vpn-ca ./easyrsa build-ca nopass
  ./easyrsa build-server-full server nopass
  ./easyrsa build-client-full admin nopass
  ./easyrsa gen-crl
  openvpn --genkey secret tls-crypt.key.new
  mv tls-crypt.key.new tls-crypt.key
fi
cd "$PKI"
install -m 600 pki/ca.crt pki/issued/server.crt pki/private/server.key tls-crypt.key /etc/openvpn/server/
# OpenVPN re-reads the revocation list on every connection after dropping to nobody: it must stay readable.
install -m 644 pki/crl.pem /etc/openvpn/server/crl.pem

{
  echo "port $VPN_PORT"
  echo "proto $VPN_PROTOCOL"
  echo "dev tun"
  echo "topology subnet"
  echo "server ${ClientNetwork}"
  echo "push \"route ${VpcNetwork}\""
  for dns in $DNS_SERVERS; do echo "push \"dhcp-option DNS $dns\""; done
  echo 'push "dhcp-option DOMAIN mesos"'
  cat <<'CONF'
ca ca.crt
cert server.crt
key server.key
dh none
crl-verify crl.pem
tls-crypt tls-crypt.key
tls-version-min 1.2
data-ciphers AES-256-GCM:AES-128-GCM
remote-cert-tls client
keepalive 10 60
user nobody
group nogroup
persist-key
persist-tun
verb 3
CONF
} > /etc/openvpn/server/dcos.conf

# Route client traffic into the VPC under the gateway's own address, so cluster security groups that admit the
# VPN group admit VPN clients, and forward nothing else.
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/60-openvpn.conf
sysctl -p /etc/sysctl.d/60-openvpn.conf
iptables -t nat -C POSTROUTING -s "$CLIENT_CIDR" -d "$VPC_CIDR" -j MASQUERADE 2>/dev/null \
  || iptables -t nat -A POSTROUTING -s "$CLIENT_CIDR" -d "$VPC_CIDR" -j MASQUERADE
iptables -C FORWARD -s "$CLIENT_CIDR" ! -d "$VPC_CIDR" -j DROP 2>/dev/null \
  || iptables -I FORWARD -s "$CLIENT_CIDR" ! -d "$VPC_CIDR" -j DROP
netfilter-persistent save
systemctl enable --now openvpn-server@dcos

# dcos-vpn-profile NAME: prints the client profile of a certificate made with easy-rsa (README: adding a client).
cat > /usr/local/sbin/dcos-vpn-profile <<PROFILE
#!/bin/bash
set -euo pipefail
name=\$1
cd $PKI
echo "client"
echo "dev tun"
echo "proto $VPN_PROTOCOL"
echo "remote ${VpnAddress} $VPN_PORT"
echo "nobind"
echo "remote-cert-tls server"
echo "data-ciphers AES-256-GCM:AES-128-GCM"
echo "tls-version-min 1.2"
echo "verb 3"
echo "<ca>"; cat pki/ca.crt; echo "</ca>"
echo "<cert>"; openssl x509 -in "pki/issued/\$name.crt"; echo "</cert>"
echo "<key>"; cat "pki/private/\$name.key"; echo "</key>"
echo "<tls-crypt>"; cat tls-crypt.key; echo "</tls-crypt>"
PROFILE
chmod 755 /usr/local/sbin/dcos-vpn-profile

# The admin client profile: to the encrypted profile bucket, readable only with IAM permission.
umask 077
PROFILE=/root/dcos-admin.ovpn
dcos-vpn-profile admin > "$PROFILE"
aws s3 cp "$PROFILE" 's3://${ProfileBucket}/clients/admin.ovpn' --sse aws:kms --sse-kms-key-id '${KeyArn}' --region '${AWS::Region}'
shred -u "$PROFILE"

wait_for "the OpenVPN service" 120 systemctl is-active --quiet openvpn-server@dcos
signal 0 "$RESOURCE: OpenVPN is up on $VPN_PROTOCOL $VPN_PORT"
