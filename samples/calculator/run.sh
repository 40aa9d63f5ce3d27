#!/usr/bin/env bash
# run.sh: the calculator sample as two processes: a server on a Unix socket and on TCP, a client on each.
# usage: run.sh SERVER CLIENT
set -euo pipefail
server=$1 client=$2
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$server" "unix:$dir/calc.sock" tcp://127.0.0.1:0 > "$dir/server.out" &
pid=$!
for _ in $(seq 100); do
  [ "$(grep -c '^listening on' "$dir/server.out" 2>/dev/null)" = 2 ] && break
  sleep 0.05
done
tcp_url=$(sed -n 's/^listening on \(tcp:.*\)/\1/p' "$dir/server.out")
echo "== client over unix:$dir/calc.sock"
"$client" "unix:$dir/calc.sock"
echo "== client over $tcp_url"
"$client" "$tcp_url"
kill -TERM $pid
wait $pid
cat "$dir/server.out"
test ! -e "$dir/calc.sock" || { echo "socket file left behind" >&2; exit 1; }
