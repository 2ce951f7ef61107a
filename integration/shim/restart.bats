#!/usr/bin/env bats
# Shims outlive whatever started them. Acceptance: with 10 running containers, SIGKILL whatever
# started the shims (the "manager", and its events endpoint with it); the containers keep running;
# their output written during the outage is in their logs; a container that exits during the
# outage has its exit code available afterwards; a shim that was itself SIGKILLed is cleaned up
# (`liman-shim delete`) with a 137-style exit recorded.

load helpers

setup() { shim_setup; }
teardown() { shim_teardown; }

# Each container prints a numbered tick with the content of its /phase file five times a second,
# and exits 23 once /exit exists.
TICKER='i=0; while :; do i=$((i+1)); echo "tick $i $(cat /phase 2>/dev/null)"; [ -e /exit ] && exit 23; sleep 0.2; done'

# manager IDS...: what containerd would be: starts the events endpoint (its child) and a shim per
# container, creates and starts the containers (json-file logs in $LIMAN_TMP/logs), then waits.
manager() {
  start_events_server
  echo "$EVENTS_PID" >"$LIMAN_TMP/manager-events.pid"
  local id
  for id in "$@"; do
    run_ctr "$id" --stdout "json-file://$LIMAN_TMP/logs/$id.log" --stderr "json-file://$LIMAN_TMP/logs/$id.log" ||
      { echo "manager: $id failed" >&2; exit 1; }
  done
  touch "$LIMAN_TMP/manager.ready"
  wait
}

# shim_delete ID: `liman-shim delete` as containerd runs it for a dead shim (cwd = bundle); the
# binary DeleteResponse goes to $LIMAN_TMP/delete-ID.bin.
shim_delete() {
  local id="$1" dir
  dir="$(bundle_dir "$id")"
  (cd "$dir" && TTRPC_ADDRESS="$EVENTS_SOCK" timeout --kill-after=10 120 "$SHIM" -namespace "$SHIM_NS" \
     -address "$MANAGER_SOCK" -publish-binary /bin/false -id "$id" -bundle "$dir" delete) \
     </dev/null >"$LIMAN_TMP/delete-$id.bin" 2>"$LIMAN_TMP/delete-$id.err"
}

# log_has ID REGEX [SECONDS]: polls container ID's json-file log for a "log" value matching REGEX.
log_has() {
  local id="$1" re="$2" limit="${3:-30}" deadline
  deadline=$((SECONDS + limit))
  while :; do
    jq -r .log "$LIMAN_TMP/logs/$id.log" 2>/dev/null | grep -qE -- "$re" && return 0
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
  done
  echo "log of $id:" >&2
  tail -5 "$LIMAN_TMP/logs/$id.log" >&2 2>/dev/null
  fail "log of $id never matched /$re/ within ${limit}s"
}

@test "10 containers outlive their SIGKILLed manager; an exit during the outage is kept; a SIGKILLed shim is cleaned up" {
  local ids=() i id
  for i in $(seq 0 9); do
    ids+=("c$i")
    new_bundle "c$i" --sh "$TICKER"
    echo before >"$(bundle_dir "c$i")/rootfs/phase"
  done
  mkdir -p "$LIMAN_TMP/logs"

  manager "${ids[@]}" </dev/null >"$LIMAN_TMP/manager.log" 2>&1 3>&- &
  local manager_pid=$!
  track_bg "$manager_pid"
  local deadline=$((SECONDS + 300))
  until [ -e "$LIMAN_TMP/manager.ready" ]; do
    kill -0 "$manager_pid" 2>/dev/null || fail "the manager failed: $(cat "$LIMAN_TMP/manager.log")"
    [ "$SECONDS" -lt "$deadline" ] || fail "the manager did not start 10 containers in 300 s"
    sleep 0.2
  done
  local events_pid init_pids=()
  events_pid="$(cat "$LIMAN_TMP/manager-events.pid")"
  for id in "${ids[@]}"; do
    init_pids+=("$(jq -r .pid "$LIMAN_TMP/create-$id.json")")
    log_has "$id" '^tick [0-9]+ before$'
  done
  wait_event /tasks/start ".event.container_id == \"c9\"" >/dev/null

  # The outage: the manager and its events endpoint die at once, as in a crash.
  kill -9 "$manager_pid" "$events_pid"
  wait_gone "$manager_pid"
  wait_gone "$events_pid"
  for id in "${ids[@]}"; do
    echo outage >"$(bundle_dir "$id")/rootfs/phase"
  done
  touch "$(bundle_dir c0)/rootfs/exit"
  sleep 3  # the outage lasts a while; what follows is checked before anything comes back

  # c0 exited with nobody to tell: its exit is on disk all the same.
  local record
  record="$(bundle_dir c0)/exits/init.json"
  deadline=$((SECONDS + 30))
  until [ -s "$record" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no exit record $record for c0"
    sleep 0.2
  done
  for i in $(seq 1 9); do
    id="c$i"
    [ -d "/proc/${init_pids[$i]}" ] || fail "the init of $id (pid ${init_pids[$i]}) is gone"
    assert_eq "$(rt state "$id" | jq -r .status)" running "runtime status of $id during the outage"
    log_has "$id" '^tick [0-9]+ outage$'
  done
  log_has c0 '^tick [0-9]+ outage$'

  # A new manager: a new events endpoint at the same address gets the exit that was queued.
  for id in "${ids[@]}"; do
    echo after >"$(bundle_dir "$id")/rootfs/phase"
  done
  start_events_server "$LIMAN_TMP/events-after.jsonl"
  wait_event /tasks/exit ".event.container_id == \"c0\" and .event.exit_status == 23" >/dev/null
  assert_eq "$(exit_of c0)" 23 "Wait of c0 after the outage"
  for i in $(seq 1 9); do
    assert_eq "$(task_status "c$i")" RUNNING "status of c$i after the outage"
    log_has "c$i" '^tick [0-9]+ after$'
  done

  # A shim SIGKILLed with its container running: `liman-shim delete` cleans up after it.
  local shim sock
  shim="$(shim_pid c1)"
  sock="$(shim_socket c1)"
  kill -9 "$shim"
  wait_gone "$shim"
  run shim_delete c1
  [ "$status" -eq 0 ] || fail "liman-shim delete failed ($status): $(cat "$LIMAN_TMP/delete-c1.err")"
  run "$SHIMCTL" decode-delete <"$LIMAN_TMP/delete-c1.bin"
  assert_success
  assert_eq "$(jq -r .exit_status <<<"$output")" 137 "exit_status of liman-shim delete"
  run rt state c1
  assert_failure
  wait_gone "${init_pids[1]}"
  wait_path_gone "$sock"
  # The others did not notice.
  for i in $(seq 2 9); do
    assert_eq "$(task_status "c$i")" RUNNING "status of c$i after c1's cleanup"
  done
}

@test "liman-shim delete after a SIGKILLed shim reports the exit its container recorded" {
  new_bundle "$CTR" --sh 'exit 23'
  run_ctr "$CTR"
  assert_eq "$(exit_of "$CTR")" 23 "exit status"
  local shim sock
  shim="$(shim_pid "$CTR")"
  sock="$(shim_socket "$CTR")"
  kill -9 "$shim"
  wait_gone "$shim"
  run shim_delete "$CTR"
  [ "$status" -eq 0 ] || fail "liman-shim delete failed ($status): $(cat "$LIMAN_TMP/delete-$CTR.err")"
  run "$SHIMCTL" decode-delete <"$LIMAN_TMP/delete-$CTR.bin"
  assert_success
  assert_eq "$(jq -r .exit_status <<<"$output")" 23 "exit_status of liman-shim delete"
  run rt state "$CTR"
  assert_failure
  wait_path_gone "$sock"
}
