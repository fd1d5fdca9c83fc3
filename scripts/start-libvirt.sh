#!/usr/bin/env bash
# Starts a libvirt daemon that works as root without systemd, cgroups or namespaces (containers, CI): it
# appends container-friendly settings to /etc/libvirt/qemu.conf once, then starts virtlogd and libvirtd.
# Idempotent: does nothing when qemu:///system already answers; on a systemd machine it only starts the service.
set -euo pipefail

if virsh -c qemu:///system version >/dev/null 2>&1; then
  exit 0
fi

# A machine with systemd runs libvirt as a service, configured by its owner: start it, change nothing.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start libvirtd virtlogd
  exit 0
fi

# shellcheck source=libvirt-lib.sh
. "$(dirname "$0")/libvirt-lib.sh"
add_container_settings /etc/libvirt/qemu.conf

mkdir -p /var/log/libvirt /var/run/libvirt
# Only this machine's daemons count: the test host (scripts/test-host.sh) runs its own in a chroot.
[ -n "$(pids_in_root virtlogd /)" ] || virtlogd -d
[ -n "$(pids_in_root libvirtd /)" ] || libvirtd -d

for _ in $(seq 1 50); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.2
done
echo "libvirtd did not answer on qemu:///system" >&2
exit 1
