#!/usr/bin/env bash
# Peak memory of the release server under a burst of parallel sign-ins (issue 18, item 10):
# starts the release server on a database of its own and sends N sign-ins at once, each for an
# email of its own from an address of its own (through a trusted proxy), so that the throttle
# lets every one reach the password check (an unknown email is checked against a dummy hash, at
# the same cost). Prints the answers by status and the server's peak resident memory (VmHWM).
#   scripts/sign-in-burst.sh [N=150]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-150}
BIN=${FIELDCLOSE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/fieldclose/target}/release/server}
url=$(scripts/ensure-postgres.sh); base=${url%/*}
db=fc_burst_$$
export DATABASE_URL=$base/$db LEPTOS_SITE_ROOT=$PWD/target/site LEPTOS_SITE_ADDR=127.0.0.1:3917 RUST_LOG=warn
export FIELDCLOSE_TRUSTED_PROXIES=127.0.0.1
"$BIN" migrate >/dev/null
"$BIN" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; psql "$base/postgres" -qc "drop database if exists $db with (force)"' EXIT
until curl -fs http://127.0.0.1:3917/healthz >/dev/null; do sleep 0.2; done
echo "before: $(grep VmHWM /proc/$pid/status)"
one() {
  curl -s -o /dev/null -w "%{http_code}\n" -H "content-type: application/json" \
    -H "x-forwarded-for: 10.9.$(($1 / 250)).$(($1 % 250 + 1))" \
    -d "{\"email\":\"burst$1@nowhere.test\",\"password\":\"not the password\"}" \
    http://127.0.0.1:3917/api/auth/login
}
export -f one
seq 1 "$N" | xargs -P "$N" -n 1 bash -c 'one "$1"' _ | sort | uniq -c
echo "after:  $(grep VmHWM /proc/$pid/status)"
