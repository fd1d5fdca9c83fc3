#!/usr/bin/env bash
# Sets up virt-snaptree on a fresh Debian or Ubuntu machine: the system packages it drives (qemu-img, qemu-io,
# libvirt, virsh) and tests with (Chromium), the npm packages, the build, and a running libvirt daemon.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

# libxml2-utils: xmllint, the corpus test's independent XPath reading of libvirt's XML (libvirt parses with libxml2).
# openssh-client: remote hosts are reached with the system's ssh. strace: tests see which files the engine opens.
# ovmf: the UEFI firmware and variable store template the clone tests boot a UEFI machine with.
# exfatprogs, exfat-fuse: the tests' exFAT folder (a USB stick's file system), which a clone or an export refuses.
# procps: pgrep, with which recovery finds a qemu-img a killed engine left writing.
packages=(qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients libxml2-utils openssh-client strace ovmf exfatprogs exfat-fuse procps)
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

echo "==> Fetching libvirt's test XMLs (cached in .cache/libvirt-corpus)"
if ! bash scripts/fetch-libvirt-corpus.sh; then
  # CI must have the corpus (its test fails without it); a developer without network can still work.
  if [ "${CI:-}" = "true" ]; then
    echo "    could not fetch libvirt's test XMLs from Debian's archive" >&2
    exit 1
  fi
  echo "    WARNING: could not fetch libvirt's test XMLs; the libvirt corpus test will fail until this succeeds." >&2
fi

echo "==> Building"
npm run build --silent

echo "==> Starting libvirt"
if ! "${SUDO[@]}" bash scripts/start-libvirt.sh; then
  echo "    libvirt did not start; the image-folder demo still works."
fi
echo "==> Ready"
