#!/usr/bin/env bash
# Installs Debian's nginx, the load balancer of the rolling-restart test (scripts/balancer.sh).
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "==> installing nginx from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light
fi
