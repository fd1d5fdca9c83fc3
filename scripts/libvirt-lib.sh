# Shared by start-libvirt.sh and test-host.sh (sourced, not run).

# Appends, once, the settings that let libvirt's QEMU driver run as root without systemd, cgroups or namespaces
# (containers, CI, a chroot) to the qemu.conf at $1.
add_container_settings() {
  local conf=$1
  local marker="# virt-snaptree: container-friendly settings"
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
}

# Prints the ids of the processes named $1 whose root directory is $2: a daemon of this machine ($2 = /) is told
# apart from the same daemon running in a chroot.
pids_in_root() {
  local name=$1 root
  root=$(readlink -f "$2")
  local pid
  for pid in $(pgrep -x "$name" || true); do
    if [ "$(readlink -f "/proc/$pid/root" 2>/dev/null)" = "$root" ]; then echo "$pid"; fi
  done
}
