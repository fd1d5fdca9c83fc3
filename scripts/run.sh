#!/usr/bin/env bash
# Runs virt-snaptree: the desktop app where a display and Electron are available, otherwise the same app in the
# browser through `serve` (on the built-in demo lab when libvirt has no domains).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && timeout 180 node -e "require('electron')" >/dev/null 2>&1; then
  exec npx electron-forge start
fi

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display here: starting the web interface instead of the desktop window."
else
  echo "Electron could not be downloaded here: starting the web interface instead of the desktop window."
fi

if [ -n "$(virsh -c qemu:///system list --all --name 2>/dev/null | grep -v '^$' | head -1)" ]; then
  echo "Showing the domains on qemu:///system. (For a remote host: ssh -L PORT:127.0.0.1:PORT, then open the URL below.)"
  exec node bin/virt-snaptree.cjs serve --connect qemu:///system "$@"
fi
echo "No libvirt domains found: showing the built-in demo lab."
exec node bin/virt-snaptree.cjs serve --demo "$@"
