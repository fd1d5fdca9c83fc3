#!/usr/bin/env bash
# Runs every test against the real tools: unit and engine tests (Vitest: real qemu-img, real virsh on a real
# libvirt daemon, and a second one with libvirt 11 reached over SSH: scripts/test-host.sh), then end-to-end tests
# (Playwright driving Debian's Chromium against `serve`).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-reports

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/start-libvirt.sh || exit 1
  # The second hypervisor the remote tests reach over SSH (built once, about a minute, then cached).
  bash scripts/test-host.sh start >/dev/null || exit 1
fi
npm run build --silent || exit 1

npx vitest run --reporter=default --reporter=json --outputFile.json=.test-reports/vitest.json
unit=$?
PLAYWRIGHT_JSON_OUTPUT_NAME=.test-reports/playwright.json npx playwright test --reporter=list,json
e2e=$?

node scripts/test-summary.cjs .test-reports/vitest.json .test-reports/playwright.json
if [ "$unit" -ne 0 ] || [ "$e2e" -ne 0 ]; then exit 1; fi
