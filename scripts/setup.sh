#!/usr/bin/env bash
# Sets up virt-snaptree on a fresh Debian or Ubuntu machine: the system packages it drives (qemu-img, qemu-io,
# libvirt, virsh) and tests with (Chromium), the npm packages, the build, and a running libvirt daemon.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

packages=(qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> Installing system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    # Ubuntu names the browser chromium-browser.
    fallback=("${missing[@]/#chromium/chromium-browser}")
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${fallback[@]}"
  fi
fi

echo "==> Installing npm packages"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

echo "==> Building"
npm run build --silent

echo "==> Starting libvirt"
if ! "${SUDO[@]}" bash scripts/start-libvirt.sh; then
  echo "    libvirt did not start; the image-folder demo still works."
fi
echo "==> Ready"
