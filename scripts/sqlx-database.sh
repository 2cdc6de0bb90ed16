#!/usr/bin/env bash
# Prints the URL of a database holding exactly the migrations' schema, for checking and writing
# the compile-time-checked queries' cache (server/.sqlx). It is rebuilt from the migrations every
# time, so a query is always checked against what the migrations make, never a drifted database.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" PGOPTIONS=--client-min-messages=warning
url=$(scripts/ensure-postgres.sh)
base=${url%/*}
db=fieldclose_sqlx
psql "$base/postgres" -qc "drop database if exists $db with (force)" >&2
psql "$base/postgres" -qc "create database $db" >&2
sqlx migrate run --source migrations --database-url "$base/$db" >&2
echo "$base/$db"
