#!/usr/bin/env bash
# Prints a DATABASE_URL that reaches a running Postgres server.
#
# Uses $DATABASE_URL when its server answers; without one, the local server's Unix socket (or
# postgres://postgres@127.0.0.1:5432/fieldclose). Otherwise installs Debian's postgresql if needed and starts a private cluster
# under target/pg (port 5433, trust auth, owned by the postgres user) and prints its URL.
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*" >&2; }

# The local server's Unix socket when there is one and no URL was given: the same server as
# 127.0.0.1:5432 without the TCP stack (the ingest bench measured ~15% more pushes a second).
socket_dir=/var/run/postgresql
if [ -z "${DATABASE_URL:-}" ] && [ -S "$socket_dir/.s.PGSQL.5432" ] \
  && psql "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
  echo "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/fieldclose"
  exit 0
fi

url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fieldclose}
hostport=$(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#' <<<"$url")
host=${hostport%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5432

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if reachable "$host" "$port"; then
  echo "$url"
  exit 0
fi

say "no Postgres at $host:$port; starting a private cluster under target/pg"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ]; then
  say "installing postgresql from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
data="$PWD/target/pg/data"
mkdir -p "$PWD/target/pg"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$PWD/target/pg"; fi
if [ ! -f "$data/PG_VERSION" ]; then
  as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust >&2
fi
if ! reachable 127.0.0.1 5433; then
  as_pg "$bindir/pg_ctl" -D "$data" -l "$PWD/target/pg/server.log" -w \
    -o "-p 5433 -c listen_addresses=127.0.0.1 -k /tmp" start >&2
fi
echo "postgres://postgres@127.0.0.1:5433/fieldclose"
