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

conf=/etc/libvirt/qemu.conf
marker="# virt-snaptree: container-friendly settings"
if ! grep -qF "$marker" "$conf" 2>/dev/null; then
  cat >>"$conf" <<CONF
$marker
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
remember_owner = 0
CONF
fi

mkdir -p /var/log/libvirt /var/run/libvirt
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d

for _ in $(seq 1 50); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.2
done
echo "libvirtd did not answer on qemu:///system" >&2
exit 1
