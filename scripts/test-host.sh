#!/usr/bin/env bash
# A second, real hypervisor on this machine for the tests: a Debian 13 chroot with libvirt 11 and QEMU 10, reached
# only over SSH on 127.0.0.1, as an administrator reaches a headless host. The paths it reports are inside the
# chroot, so they are not this machine's files of the same names: exactly what a remote host is.
#
#   scripts/test-host.sh start     build it once (cached), start libvirtd, virtlogd and sshd in it, print its URI
#   scripts/test-host.sh stop      stop everything running in it and unmount what start mounted
#   scripts/test-host.sh status    print its URI and versions when it answers; exit 1 when it does not
#
# It is reached as the ssh host "snaptree-test-host" (an ssh_config drop-in naming the address, port, key and
# pinned host key), so `virsh -c qemu+ssh://snaptree-test-host/system` and plain `ssh snaptree-test-host` work,
# and an ssh client that does not know the name fails as it would for a host it never met; the same host as
# "snaptree-test-host-stranger" offers a key it refuses. Root only: it builds
# a chroot and mounts into it. sshd listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=libvirt-lib.sh
. ./libvirt-lib.sh

STATE=${SNAPTREE_TEST_HOST_STATE:-/var/lib/virt-snaptree-test-host}
DIR=$STATE/root
PORT=${SNAPTREE_TEST_HOST_PORT:-2222}
NAME=snaptree-test-host
KEY=$STATE/id_ed25519
# A key the test host does not accept, for the tests of a refused login (as the ssh host "$NAME-stranger").
STRANGER_KEY=$STATE/stranger_ed25519
KNOWN=$STATE/known_hosts
SSH_CONF=/etc/ssh/ssh_config.d/virt-snaptree-test-host.conf
URI="qemu+ssh://$NAME/system"
SUITE=trixie
PACKAGES=libvirt-daemon-system,libvirt-clients,qemu-utils,qemu-system-x86,openssh-server

die() {
  echo "test-host: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it builds a chroot and mounts into it)"

# Builds the chroot into a folder of its own and moves it in place whole: a build cut short leaves no half-made
# host, and nothing is ever mounted in the folder a rebuild removes.
build() {
  [ -x "$DIR/usr/sbin/libvirtd" ] && return 0
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "==> Installing mmdebstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
  fi
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  local partial=$STATE/root.partial
  if grep -qF " $partial/" /proc/mounts; then die "$partial has mounts; refusing to remove it"; fi
  rm -rf "$partial"
  echo "==> Building the test host ($SUITE: libvirt, QEMU, sshd) in $DIR"
  mmdebstrap --quiet --variant=apt --include="$PACKAGES" "$SUITE" "$partial"
  mv "$partial" "$DIR"
}

mount_system() {
  local m
  for m in proc sys dev; do
    if ! mountpoint -q "$DIR/$m"; then
      mount --rbind "/$m" "$DIR/$m"
      # Unmounting later must not reach into this machine's own mounts.
      mount --make-rslave "$DIR/$m"
    fi
  done
}

start_libvirt() {
  add_container_settings "$DIR/etc/libvirt/qemu.conf"
  mkdir -p "$DIR/var/log/libvirt" "$DIR/run/libvirt"
  [ -n "$(pids_in_root virtlogd "$DIR")" ] || chroot "$DIR" virtlogd -d
  [ -n "$(pids_in_root libvirtd "$DIR")" ] || chroot "$DIR" libvirtd -d
}

start_sshd() {
  mkdir -p "$DIR/run/sshd"
  chroot "$DIR" ssh-keygen -A >/dev/null
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "$NAME" -f "$KEY"
  [ -f "$STRANGER_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "$NAME-stranger" -f "$STRANGER_KEY"
  install -d -m 700 "$DIR/root/.ssh"
  install -m 600 "$KEY.pub" "$DIR/root/.ssh/authorized_keys"
  echo "$NAME $(cut -d' ' -f1,2 "$DIR/etc/ssh/ssh_host_ed25519_key.pub")" >"$KNOWN"
  cat >"$SSH_CONF" <<CONF
# The test host of virt-snaptree (scripts/test-host.sh): a chroot on this machine, reached over loopback.
Host $NAME
  HostName 127.0.0.1
  Port $PORT
  User root
  IdentityFile $KEY
  IdentitiesOnly yes
  HostKeyAlias $NAME
  UserKnownHostsFile $KNOWN
  StrictHostKeyChecking yes

Host $NAME-stranger
  HostName 127.0.0.1
  Port $PORT
  User root
  IdentityFile $STRANGER_KEY
  IdentitiesOnly yes
  IdentityAgent none
  HostKeyAlias $NAME
  UserKnownHostsFile $KNOWN
  StrictHostKeyChecking yes
CONF
  # The tests refuse logins on purpose (a stranger's key, unknown host keys): sshd must not penalize the address
  # they come from, which every test shares. An sshd started without these settings is started again.
  local pid
  for pid in $(pids_in_root sshd "$DIR"); do
    grep -q PerSourcePenalties "/proc/$pid/cmdline" 2>/dev/null || kill "$pid"
  done
  sleep 0.2
  [ -n "$(pids_in_root sshd "$DIR")" ] ||
    chroot "$DIR" /usr/sbin/sshd -p "$PORT" -o ListenAddress=127.0.0.1 -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no \
      -o PerSourcePenalties=no -o MaxStartups=100:30:200
}

answers() {
  virsh -q -c "$URI" version >/dev/null 2>&1
}

start() {
  build
  mount_system
  start_libvirt
  start_sshd
  local _
  for _ in $(seq 1 100); do
    if answers; then
      echo "$URI"
      return 0
    fi
    sleep 0.2
  done
  die "libvirt in the test host did not answer on $URI"
}

# Stops every process whose root is the chroot (its daemons, and any QEMU a test left running), then unmounts.
stop() {
  [ -d "$DIR" ] || return 0
  local root pid pids=()
  root=$(readlink -f "$DIR")
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [ "$(readlink -f "/proc/$pid/root" 2>/dev/null)" = "$root" ] && pids+=("$pid")
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  local m
  for m in dev sys proc; do
    if mountpoint -q "$DIR/$m"; then umount -R "$DIR/$m" || umount -R -l "$DIR/$m"; fi
  done
  rm -f "$SSH_CONF"
}

status() {
  if [ -f "$SSH_CONF" ] && answers; then
    echo "$URI"
    virsh -q -c "$URI" version | sed 's/^/  /'
    return 0
  fi
  echo "test host not running" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
