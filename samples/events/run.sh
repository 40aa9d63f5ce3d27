#!/usr/bin/env bash
# run.sh: the events sample as separate processes: a publisher, two subscribers, a relay that calls the first
# subscriber through a reference the publisher handed it, a publishing client; then a subscriber killed with
# SIGKILL, which the publisher drops. Checks what each process printed; exits non-zero when something is missing.
# usage: run.sh BIN_DIR   (where events_publisher, events_subscriber, events_relay and events_publish are)
set -euo pipefail
bin=${1:?usage: run.sh BIN_DIR}
timeout_s=10
dir=$(mktemp -d)
pids=()

cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # the process was waited for: cleanup must not signal its pid, which may be reused
  local keep=() pid
  for pid in ${pids[@]+"${pids[@]}"}; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  pids=(${keep[@]+"${keep[@]}"})
}

fail() {
  echo "run.sh: $*" >&2
  for f in "$dir"/*.out; do [ -e "$f" ] && { echo "--- ${f##*/}" >&2; cat "$f" >&2; }; done
  exit 1
}

# Polls, rather than sleeping a fixed time: the processes answer as fast as they can, up to a bound.
wait_for_line() { # FILE REGEX
  local deadline=$((SECONDS + timeout_s))
  until grep -q -e "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "no line matching '$2' in ${1##*/} after ${timeout_s}s"
    sleep 0.02
  done
}

wait_for_exit() { # PID NAME: fails unless the process exits with status 0 within the bound
  local deadline=$((SECONDS + timeout_s)) status=0
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "$2 still running after ${timeout_s}s"
    sleep 0.02
  done
  wait "$1" || status=$?
  forget "$1"
  [ $status = 0 ] || fail "$2 exited with status $status"
}

expect_line() { # FILE REGEX
  grep -q -e "$2" "$1" || fail "no line matching '$2' in ${1##*/}"
}

start_subscriber() { # NAME COUNT [ARGS...]: sets $pid and $cookie
  local name=$1 count=$2
  shift 2
  "$bin/events_subscriber" "$url" "$count" "$@" > "$dir/$name.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_for_line "$dir/$name.out" '^cookie [0-9]'
  cookie=$(sed -n 's/^cookie \([0-9]*\)$/\1/p' "$dir/$name.out")
}

publish() { # TOPIC TEXT EXPECTED_DELIVERIES
  local out
  out=$("$bin/events_publish" "$url" "$1" "$2" 2>&1) || fail "events_publish $1 $2: $out"
  echo "events_publish $1 \"$2\": $out"
  [ "$out" = "delivered $3" ] || fail "events_publish $1 $2: expected 'delivered $3', got '$out'"
}

url="unix:$dir/publisher.sock"
"$bin/events_publisher" "$url" > "$dir/publisher.out" 2>&1 &
publisher=$!
pids+=("$publisher")
wait_for_line "$dir/publisher.out" '^listening on '

echo "== two subscribers; the first listens, so a reference to its sink can be used by a third process"
start_subscriber subscriber1 4 --listen "unix:$dir/subscriber1.sock" --print-ref
subscriber1=$pid cookie1=$cookie
expect_line "$dir/subscriber1.out" '^ref pcomref:'
start_subscriber subscriber2 3
subscriber2=$pid cookie2=$cookie
echo "subscriber1 has cookie $cookie1, subscriber2 has cookie $cookie2"

echo "== the relay gets subscriber $cookie1's sink from the publisher and calls it"
relay_out=$("$bin/events_relay" "$url" "$cookie1" "hello from the relay" 2>&1) || fail "events_relay: $relay_out"
echo "$relay_out"
[ "$relay_out" = "relayed to subscriber $cookie1" ] || fail "events_relay printed '$relay_out'"

echo "== three events for both subscribers"
publish news one 2
publish news two 2
publish weather three 2
wait_for_exit "$subscriber1" subscriber1
wait_for_exit "$subscriber2" subscriber2

echo "== a subscriber killed with SIGKILL never unsubscribes: the publisher drops it on the next event"
start_subscriber subscriber3 1
subscriber3=$pid cookie3=$cookie
start_subscriber subscriber4 100
subscriber4=$pid cookie4=$cookie
kill -KILL "$subscriber4"
wait "$subscriber4" 2>/dev/null || true
forget "$subscriber4"
publish news four 1
wait_for_exit "$subscriber3" subscriber3
wait_for_line "$dir/publisher.out" "^dropped subscriber $cookie4: its process is gone$"

kill -TERM "$publisher"
wait_for_exit "$publisher" events_publisher

for name in publisher subscriber1 subscriber2 subscriber3; do
  echo "--- $name"
  cat "$dir/$name.out"
done

expect_line "$dir/subscriber1.out" '^event 0 relay: hello from the relay$'
expect_line "$dir/subscriber1.out" '^event 1 news: one$'
expect_line "$dir/subscriber1.out" '^event 3 weather: three$'
expect_line "$dir/subscriber1.out" '^done after 4 events$'
expect_line "$dir/subscriber2.out" '^event 1 news: one$'
expect_line "$dir/subscriber2.out" '^event 3 weather: three$'
expect_line "$dir/subscriber2.out" '^done after 3 events$'
! grep -q relay "$dir/subscriber2.out" || fail "subscriber2 got the event relayed to subscriber1"
expect_line "$dir/subscriber3.out" '^event 4 news: four$'
expect_line "$dir/subscriber3.out" '^done after 1 events$'
for cookie in "$cookie1" "$cookie2" "$cookie3"; do
  expect_line "$dir/publisher.out" "^unsubscribed $cookie$"
done
expect_line "$dir/publisher.out" '^published 4 on news to 1 of 2 subscribers$'
expect_line "$dir/publisher.out" '^stopped; 0 objects left, 0 subscribers left$'
[ ! -e "$dir/publisher.sock" ] || fail "the publisher left its socket file behind"
[ ! -e "$dir/subscriber1.sock" ] || fail "subscriber1 left its socket file behind"
echo "== events sample: all checks passed"
