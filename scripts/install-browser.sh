#!/usr/bin/env bash
# Installs Debian's Chromium and the end-to-end test's npm packages (Playwright downloads no
# browser of its own here: it drives /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing chromium from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if [ ! -d end2end/node_modules/@playwright/test ]; then
  echo "==> installing Playwright (no browser download)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
