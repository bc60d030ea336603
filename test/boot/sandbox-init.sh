#!/bin/bash
# PID 1 of a boot sandbox: one EC2 instance, made of its own network namespace (set up by the harness before this
# runs) and the mount, UTS and PID namespaces `unshare` gives this script. It builds the instance's machine from
# the host's filesystem and runs the user data once, as cloud-init would: as root, from /, with a plain PATH.
#
#   sandbox-init.sh DIR
#
# DIR (a host folder) holds: hostname; user-data (the resolved program); env (extra NAME=value lines for it);
# image/ (files laid over the machine: fakes, AWS config, CA bundle); volumes (lines "VOLUME_ID LOOP_DEVICE MAJOR
# MINOR", attached the way EC2 presents EBS volumes on Nitro); pre-boot (optional, run before the user data);
# shared/ (seen inside as /run/dcos-cfn-test: the fakes' records, the program's output, its exit code).
#
# Nothing the program writes reaches the host: every written path is an overlay whose upper layer is in DIR, or a
# tmpfs; /dev is private (only the instance's own devices); kernel settings other than its network's are
# read-only. Killing this process ends every process of the instance and drops all its mounts.
set -euo pipefail
dir=$1

mount --make-rprivate /
hostname "$(cat "$dir/hostname")"

# Every path a program may write: an overlay over the host's files, its changes kept in DIR.
for d in etc var opt root usr/local srv home mnt; do
  mkdir -p "$dir/upper/$d" "$dir/work/$d"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$dir/upper/$d,workdir=$dir/work/$d" "/$d"
done
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/dcos-cfn-test /run/lock
mount --bind "$dir/shared" /run/dcos-cfn-test
cp -a "$dir/image/." /
cp "$dir/user-data" /run/user-data
cp "$dir/env" /run/user-data.env
[ ! -f "$dir/pre-boot" ] || cp "$dir/pre-boot" /run/pre-boot
volumes=$(cat "$dir/volumes")
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
systemd-tmpfiles --create --prefix=/run >/dev/null 2>&1 || true

mount -o remount,bind,ro /sys  # ip netns exec mounted this namespace's sysfs
mount --bind /proc/sys /proc/sys
mount --bind /proc/sys/net /proc/sys/net
mount -o remount,bind,ro /proc/sys

# A private /dev: the usual character devices, the tun device, and each attached volume as its loop device with
# the /dev/disk/by-id name EC2 gives an EBS volume on a Nitro instance.
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/tty c 5 0
mkdir -p /dev/net /dev/pts /dev/shm /dev/disk/by-id
mknod -m 666 /dev/net/tun c 10 200
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
while read -r volume loop major minor; do
  [ -n "$volume" ] || continue
  mknod -m 660 "$loop" b "$major" "$minor"
  ln -s "../../${loop#/dev/}" "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume//-/}"
done <<< "$volumes"

cd /
if [ -f /run/pre-boot ]; then bash /run/pre-boot; fi
mkdir -p /var/lib/cloud/instance/scripts
install -m 700 /run/user-data /var/lib/cloud/instance/scripts/part-001
mapfile -t extra < /run/user-data.env
set +e
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "${extra[@]}" \
  /var/lib/cloud/instance/scripts/part-001 > /run/dcos-cfn-test/user-data.log 2>&1 < /dev/null
echo $? > /run/dcos-cfn-test/exit-code.tmp
mv /run/dcos-cfn-test/exit-code.tmp /run/dcos-cfn-test/exit-code
# Stay, as an instance's init does, reaping the daemons it adopts.
while true; do
  sleep 1 &
  wait $! || true
done
