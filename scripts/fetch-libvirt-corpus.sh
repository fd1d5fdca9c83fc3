#!/usr/bin/env bash
# Fetches libvirt's own test XMLs (snapshot and domain definitions) from Debian's source package into
# .cache/libvirt-corpus/, for the corpus test (electron/scan/libvirt-corpus.test.ts). They are libvirt's test
# data, not ours: fetched at set-up and cached, never copied into the repository.
# Idempotent: does nothing when the corpus is already there. A private apt configuration under the cache folder
# leaves the machine's own apt sources and lists untouched; apt-get source needs no root.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=9.0.0
CACHE=.cache/libvirt-corpus
DEST="$CACHE/libvirt-$VERSION"
if [ -f "$DEST/.complete" ]; then
  echo "    libvirt test corpus already in $DEST"
  exit 0
fi

mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/download"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" >"$CACHE/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$PWD/$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$PWD/$CACHE/apt/lists" -o "Dir::Cache=$PWD/$CACHE/apt/cache" -o APT::Sandbox::User=root)

apt-get "${APT[@]}" -qq update
# Bookworm carries libvirt 9.0.0, as this machine runs; the Debian revision follows the archive.
(cd "$CACHE/download" && apt-get "${APT[@]}" -qq source --download-only libvirt >/dev/null)
tarball=$(ls "$CACHE"/download/libvirt_"$VERSION".orig.tar.xz)

rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
# Only the snapshot XMLs, the domain XMLs with disks worth reading, and the snapshot format's documentation.
tar -xJf "$tarball" -C "$DEST.partial" --strip-components=1 --wildcards \
  "libvirt-$VERSION/tests/qemudomainsnapshotxml2xmlin/*" \
  "libvirt-$VERSION/tests/qemudomainsnapshotxml2xmlout/*" \
  "libvirt-$VERSION/tests/qemuxml2argvdata/disk-*.xml" \
  "libvirt-$VERSION/docs/formatsnapshot.rst"
touch "$DEST.partial/.complete"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
rm -rf "$CACHE/download"
echo "    libvirt test corpus in $DEST"
