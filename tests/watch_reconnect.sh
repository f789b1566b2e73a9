#!/usr/bin/env bash
# `faceid watch` on a network stream that drops and comes back: an MJPEG server on 127.0.0.1
# (tests/mjpeg_server.py) is killed mid-stream and restarted on the same port; watch must
# reconnect, name people in the frames of the new connection and stop cleanly at --max-frames.
# Only what set-up installs is used (the sample photos). Usage: watch_reconnect.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir="$1" build_dir="$2"
faceid="$build_dir/faceid"
samples="$("$faceid" models dir)/samples"
if [ ! -f "$samples/sample1.jpg" ]; then
  echo "needs the installed sample photos (faceid models install)"
  exit 77
fi
work="$(mktemp -d -t faceid-watch-reconnect-XXXXXX)"
server_pid="" watch_pid=""
cleanup() {
  for pid in $server_pid $watch_pid; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- watch events:"; cat "$work/events.jsonl" || true
  echo "--- watch log:"; cat "$work/watch.log" || true
  exit 1
}
# Polls (every 0.1 s, at most $1 s) until the command after it succeeds.
wait_until() {
  local tenths=$(($1 * 10)); shift
  for _ in $(seq "$tenths"); do "$@" && return 0; sleep 0.1; done
  return 1
}
start_server() {  # JPEG PORT
  rm -f "$work/port"
  python3 "$source_dir/tests/mjpeg_server.py" "$1" "$work/port" "$2" &
  server_pid=$!
  wait_until 10 test -s "$work/port" || fail "the MJPEG server did not start"
}

gallery="$work/g.db"
"$faceid" --gallery "$gallery" enroll --name alice "$samples/sample1.jpg" >/dev/null
# Before the drop the stream shows sample4.jpg (nobody there is enrolled), after it sample3.jpg
# (alice in another photo than the one enrolled): alice can be named only from frames read after
# the reconnect.
start_server "$samples/sample4.jpg" 0
port="$(cat "$work/port")"
"$faceid" --gallery "$gallery" watch "http://127.0.0.1:$port/" --no-status --max-frames 120 \
  >"$work/events.jsonl" 2>"$work/watch.log" &
watch_pid=$!
# A face decided (named or unknown) proves frames were read and recognised before the drop.
wait_until 30 grep -qE '"event":"(identified|unknown)"' "$work/events.jsonl" || fail "no face decided before the drop"
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
sleep 1  # watch meets the dead connection and the refused first reconnect, then backs off
start_server "$samples/sample3.jpg" "$port"
wait_until 40 bash -c "! kill -0 $watch_pid 2>/dev/null" || fail "watch did not stop at its frame limit"
status=0
wait "$watch_pid" || status=$?
watch_pid=""
[ "$status" -eq 0 ] || fail "watch exited $status"
python3 - "$work/events.jsonl" <<'PY' || fail "events"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
summary = lines[-1]["summary"]
assert summary["end"] == "frame limit", summary
assert summary["frames"] == 120, summary
assert summary["reconnects"] >= 1, summary
decided = [e["person"] for e in lines[:-1] if e.get("event") in ("identified", "unknown")]
assert decided and decided[0] == "unknown", f"the first decision (sample4.jpg, before the drop) is unknown: {decided}"
assert "alice" in decided, f"alice is named after the reconnect: {decided}"
assert set(decided) <= {"alice", "unknown"}, decided
print(f"reconnects {summary['reconnects']}, decisions {decided}, {summary['frames']} frames in {summary['wall_seconds']} s")
PY
