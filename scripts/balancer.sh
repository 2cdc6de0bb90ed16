#!/usr/bin/env bash
# Runs nginx in the foreground as a load balancer in front of Fieldclose processes on loopback:
#   scripts/balancer.sh DIR LISTEN_PORT UPSTREAM_PORT...
# DIR receives nginx.conf, its logs and temp files. The rolling-restart test
# (server/tests/api/chaos_rolling.rs) starts it; docs/architecture.md shows the production form.
set -euo pipefail
dir=$1 listen=$2
shift 2
mkdir -p "$dir"
upstreams=""
for port in "$@"; do
  # A process that refused or cut a connection gets no requests for 2 s (passive health check:
  # open-source nginx cannot poll /readyz; a draining process still serves until it stops).
  upstreams+="    server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
done
# nginx run by root would switch its workers to "nobody", who cannot write DIR.
user_line=""
if [ "$(id -u)" = 0 ]; then user_line="user root;"; fi
cat > "$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  client_max_body_size 12m;
  upstream fieldclose {
$upstreams    keepalive 64;
  }
  server {
    listen 127.0.0.1:$listen;
    location / {
      proxy_pass http://fieldclose;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      # A request whose process went away (refused, cut, or 503 while it starts or leaves) goes
      # to the next one, POSTs included: a push is idempotent (each mutation applies once, by
      # client and mutation id) and so is every other write a device retries.
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
      proxy_read_timeout 90s;
      # Event streams ("pull now") pass through as they are written.
      proxy_buffering off;
    }
  }
}
CONF
exec nginx -p "$dir" -c "$dir/nginx.conf"
