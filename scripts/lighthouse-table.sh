#!/usr/bin/env bash
# Lighthouse on every signed-in route of issue 22, as its person, first visit (Lighthouse clears
# the origin's storage, so the page's first sync is part of the load), mobile and, for the
# managers' pages, desktop. Prints one line per route: score, FCP, LCP, TBT, bytes.
#
#   scripts/lighthouse-table.sh BASE_URL DATABASE_URL [LIGHTHOUSE_DIR]
#
# BASE_URL: a running release server over the demo company (`server seed-demo`).
# DATABASE_URL: its database (to pick a consultation and a quote to open).
# LIGHTHOUSE_DIR: a writable copy of ../shared/tools/lighthouse (default /tmp/lh).
set -euo pipefail
base=${1:?BASE_URL}
db=${2:?DATABASE_URL}
lh=${3:-/tmp/lh}
password=fieldclose-demo

cookie_of() {
  local jar
  jar=$(mktemp)
  curl -fsS -c "$jar" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$password\"}" "$base/api/auth/login" > /dev/null
  awk '$6 == "fc_session" {print $6"="$7}' "$jar"
  rm -f "$jar"
}

tech=$(cookie_of tech1@demo.fieldclose.test)
rep=$(cookie_of rep1@demo.fieldclose.test)
manager=$(cookie_of manager@demo.fieldclose.test)
visit=$(psql "$db" -Atc "select c.id from consultations c join users u on u.company_id = c.company_id and u.id = c.technician_id
                         where u.email = 'tech1@demo.fieldclose.test' and c.status = 'open' and not c.deleted
                         order by c.scheduled_at desc limit 1")
quote=$(psql "$db" -Atc "select c.id from consultations c join users u on u.company_id = c.company_id and u.id = c.sales_rep_id
                         where u.email = 'rep1@demo.fieldclose.test' and c.status = 'open' and not c.deleted
                         order by c.scheduled_at desc limit 1")

printf '%-22s %-8s %5s %7s %7s %7s %8s\n' route form score fcp_ms lcp_ms tbt_ms kib
audit() { # route cookie form
  local out
  out=$(LH_COOKIE="$2" "$lh/audit.sh" "$base$1" "--$3" 2> /dev/null || true)
  local get
  get() { awk -v k="$1" '$1==k {print $2}' <<< "$out"; }
  printf '%-22s %-8s %5s %7s %7s %7s %8s\n' "${1%%\?*}" "$3" "$(get performance)" "$(get fcp_ms)" \
    "$(get lcp_ms)" "$(get tbt_ms)" "$(get transfer_kb)"
}
audit /login "" mobile
audit /today "$tech" mobile
audit /new "$tech" mobile
audit "/visit?id=$visit&step=home" "$tech" mobile
audit /queue "$rep" mobile
audit "/quote?id=$quote" "$rep" mobile
audit /dashboard "$manager" mobile
audit /dashboard "$manager" desktop
audit /reports "$manager" mobile
audit /reports "$manager" desktop
