#!/usr/bin/env bats
# liman-shim's life and its container's: the start convention, create/start/wait/delete, state,
# events, kill, pause/resume, shutdown, and robustness against malformed input.

load helpers

setup() { shim_setup; }
teardown() { shim_teardown; }

@test "start prints the socket address; the shim serves it from its own session in the bundle" {
  new_bundle "$CTR"
  local dir
  dir="$(bundle_dir "$CTR")"
  run shim_start "$CTR"
  assert_success
  local addr="$output"
  [[ "$addr" =~ ^unix:///[^[:space:]]+$ ]] || fail "start printed '$addr', expected one unix:// address"
  local sock="${addr#unix://}"
  [ -S "$sock" ] || fail "no socket at $sock"
  assert_eq "$(dirname "$sock")" "$LIMAN_TMP/s" "socket directory (dirname of -address)/s"
  assert_eq "$(basename "$sock")" "$(printf '%s' "$MANAGER_SOCK/$SHIM_NS/$CTR" | sha256sum | cut -d' ' -f1)" \
    "socket name (sha256 of address/namespace/id)"
  assert_eq "$(stat -c %a "$sock")" 600 "socket mode"
  assert_eq "$(stat -c %a "$(dirname "$sock")")" 700 "socket directory mode"
  assert_eq "$(cat "$dir/address")" "$addr" "bundle/address"

  local pid
  pid="$(shim_pid "$CTR")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || fail "shim.pid '$pid' names no process"
  # A session leader of its own (setsid: session id = its pid), outside the caller's terminal and
  # process group, so that nothing sent to the manager's session reaches it.
  assert_eq "$(awk '{ sub(/^.*\) /, ""); print $4 }' "/proc/$pid/stat")" "$pid" "session of the shim"
  assert_eq "$(readlink "/proc/$pid/cwd")" "$dir" "working directory of the shim"
  local fd
  for fd in 0 1 2; do
    assert_eq "$(readlink "/proc/$pid/fd/$fd")" /dev/null "fd $fd of the shim"
  done
  echo "$addr" >"$LIMAN_TMP/addr-$CTR"
  run ctl "$CTR" connect --field shim_pid
  assert_success
  assert_eq "$output" "$pid" "Connect's shim_pid"

  # A second start while the shim lives: the same address, the same shim.
  run shim_start "$CTR"
  assert_success
  assert_eq "$output" "$addr" "address printed by a second start"
  assert_eq "$(shim_pid "$CTR")" "$pid" "shim.pid after a second start"
  [ -d "/proc/$pid" ] || fail "the first shim died"
  run ctl "$CTR" connect --field shim_pid
  assert_success
  assert_eq "$output" "$pid" "Connect's shim_pid after a second start"
}

@test "create, start, wait: pid 1 in a new pid namespace, CREATED/RUNNING/STOPPED, the exit code" {
  new_bundle "$CTR" --sh 'echo "pid=$$"; while [ ! -e /go ]; do sleep 0.1; done; exit 3'
  local dir
  dir="$(bundle_dir "$CTR")"
  create_ctr "$CTR" --stdout "file://$LIMAN_TMP/out.log"
  local pid
  pid="$(jq -r .pid "$LIMAN_TMP/create-$CTR.json")"
  [ "$pid" -gt 1 ] || fail "Create returned pid '$pid'"

  run ctl "$CTR" state
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" CREATED "status after Create"
  assert_eq "$(jq -r .pid <<<"$output")" "$pid" "State pid"
  assert_eq "$(jq -r .id <<<"$output")" "$CTR" "State id"
  assert_eq "$(jq -r .bundle <<<"$output")" "$dir" "State bundle"
  [ "$(pid_ns "$pid" pid)" != "$(host_ns pid)" ] || fail "the container shares the host's pid namespace"
  ! grep -q pid= "$LIMAN_TMP/out.log" 2>/dev/null || fail "the process ran before Start"

  run ctl "$CTR" start --field pid
  assert_success
  assert_eq "$output" "$pid" "Start pid"
  wait_grep "$LIMAN_TMP/out.log" '^pid=1$'
  assert_eq "$(task_status "$CTR")" RUNNING "status after Start"

  touch "$dir/rootfs/go"
  run ctl "$CTR" wait
  assert_success
  assert_eq "$(jq -r .exit_status <<<"$output")" 3 "Wait exit_status"
  [ "$(jq -r .exited_at <<<"$output")" != null ] || fail "Wait has no exited_at: $output"
  run ctl "$CTR" state
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" STOPPED "status after the exit"
  assert_eq "$(jq -r .exit_status <<<"$output")" 3 "State exit_status"
  [ -s "$dir/exits/init.json" ] || fail "no exit record $dir/exits/init.json"
  jq -e . "$dir/exits/init.json" >/dev/null || fail "exit record is not JSON: $(cat "$dir/exits/init.json")"

  run ctl "$CTR" delete
  assert_success
  assert_eq "$(jq -r .exit_status <<<"$output")" 3 "Delete exit_status"
  assert_eq "$(jq -r .pid <<<"$output")" "$pid" "Delete pid"
  run rt state "$CTR"
  assert_failure
}

@test "Create's runc options choose the runtime binary and its root (plus the namespace)" {
  local wrapper="$LIMAN_TMP/runtime-wrapper" root="$LIMAN_TMP/other-root"
  cat >"$wrapper" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>'$LIMAN_TMP/runtime-calls.log'
exec '$RUNTIME' "\$@"
EOF
  chmod 0755 "$wrapper"
  new_bundle "$CTR"
  shim_up "$CTR"
  run ctl "$CTR" create --bundle "$(bundle_dir "$CTR")" --runtime-binary "$wrapper" --runtime-root "$root"
  assert_success
  ctl_ok "$CTR" start >/dev/null
  grep -qF -- "--root $root/$SHIM_NS" "$LIMAN_TMP/runtime-calls.log" ||
    fail "the runtime was not called with --root $root/$SHIM_NS: $(cat "$LIMAN_TMP/runtime-calls.log")"
  assert_eq "$(timeout 60 "$RUNTIME" --root "$root/$SHIM_NS" state "$CTR" | jq -r .status)" running "runtime status"
  ctl_ok "$CTR" kill KILL >/dev/null
  assert_eq "$(exit_of "$CTR")" 137 "exit status"
  ctl_ok "$CTR" delete >/dev/null
  run timeout 60 "$RUNTIME" --root "$root/$SHIM_NS" state "$CTR"
  assert_failure
}

@test "events: /tasks/create, /tasks/start, /tasks/exit, /tasks/delete, in order, with their fields" {
  start_events_server
  new_bundle "$CTR" --sh 'exit 7'
  create_ctr "$CTR"
  local pid
  pid="$(jq -r .pid "$LIMAN_TMP/create-$CTR.json")"
  ctl_ok "$CTR" start >/dev/null
  assert_eq "$(exit_of "$CTR")" 7 "exit status"
  ctl_ok "$CTR" delete >/dev/null

  wait_event /tasks/delete ".event.container_id == \"$CTR\"" >/dev/null
  assert_eq "$(topics_of "$CTR")" "/tasks/create /tasks/start /tasks/exit /tasks/delete" "event topics"
  local e
  e="$(wait_event /tasks/create)"
  assert_eq "$(jq -r .namespace <<<"$e")" "$SHIM_NS" "namespace of the envelope"
  assert_eq "$(jq -r '.event["@type"]' <<<"$e")" containerd.events.TaskCreate "type of /tasks/create"
  assert_eq "$(jq -r .event.bundle <<<"$e")" "$(bundle_dir "$CTR")" "TaskCreate bundle"
  assert_eq "$(jq -r .event.pid <<<"$e")" "$pid" "TaskCreate pid"
  e="$(wait_event /tasks/start)"
  assert_eq "$(jq -r .event.pid <<<"$e")" "$pid" "TaskStart pid"
  e="$(wait_event /tasks/exit)"
  assert_eq "$(jq -r '.event["@type"]' <<<"$e")" containerd.events.TaskExit "type of /tasks/exit"
  assert_eq "$(jq -r .event.exit_status <<<"$e")" 7 "TaskExit exit_status"
  assert_eq "$(jq -r .event.pid <<<"$e")" "$pid" "TaskExit pid"
  # containerd names the init process after the container in TaskExit.id.
  assert_eq "$(jq -r .event.id <<<"$e")" "$CTR" "TaskExit id"
  e="$(wait_event /tasks/delete)"
  assert_eq "$(jq -r .event.exit_status <<<"$e")" 7 "TaskDelete exit_status"
  assert_eq "$(jq -r .event.pid <<<"$e")" "$pid" "TaskDelete pid"
}

@test "events raised while the events endpoint is down are delivered, in order, once it is back" {
  new_bundle "$CTR" --sh 'exit 5'
  run_ctr "$CTR"
  assert_eq "$(exit_of "$CTR")" 5 "exit status"
  ctl_ok "$CTR" delete >/dev/null
  [ ! -s "$EVENTS_LOG" ] || fail "events logged with no events server: $(cat "$EVENTS_LOG")"
  # The shim answered every call although nothing took its events.
  start_events_server
  wait_event /tasks/delete ".event.container_id == \"$CTR\"" >/dev/null
  assert_eq "$(topics_of "$CTR")" "/tasks/create /tasks/start /tasks/exit /tasks/delete" "event topics"
  assert_eq "$(jq -r 'select(.topic == "/tasks/exit") | .event.exit_status' "$EVENTS_LOG")" 5 "TaskExit exit_status"
}

@test "kill delivers the signal (a trapped TERM exits 42); killing a finished process is NOT_FOUND" {
  new_bundle "$CTR" --sh 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'
  run_ctr "$CTR" --stdout "file://$LIMAN_TMP/out.log"
  wait_grep "$LIMAN_TMP/out.log" '^ready$'
  run ctl "$CTR" kill TERM
  assert_success
  assert_eq "$(exit_of "$CTR")" 42 "exit status after TERM"
  run ctl "$CTR" kill KILL
  assert_failure
  assert_output_contains NOT_FOUND
  run ctl "$CTR" kill --exec-id no-such-exec KILL
  assert_failure
  assert_output_contains NOT_FOUND
}

@test "pause and resume: the cgroup freezes and thaws; /tasks/paused and /tasks/resumed" {
  start_events_server
  new_bundle "$CTR"
  run_ctr "$CTR"
  run ctl "$CTR" pause
  assert_success
  wait_freezer "$CTR" FROZEN
  assert_eq "$(task_status "$CTR")" PAUSED "status after Pause"
  wait_event /tasks/paused ".event.container_id == \"$CTR\"" >/dev/null

  run ctl "$CTR" resume
  assert_success
  wait_freezer "$CTR" THAWED
  assert_eq "$(task_status "$CTR")" RUNNING "status after Resume"
  wait_event /tasks/resumed ".event.container_id == \"$CTR\"" >/dev/null

  ctl_ok "$CTR" kill KILL >/dev/null
  assert_eq "$(exit_of "$CTR")" 137 "exit status after KILL"
}

@test "delete then shutdown: the shim exits and its socket is gone" {
  new_bundle "$CTR" --sh 'exit 0'
  run_ctr "$CTR"
  local pid sock
  pid="$(shim_pid "$CTR")"
  sock="$(shim_socket "$CTR")"
  assert_eq "$(exit_of "$CTR")" 0 "exit status"
  # Not yet: the container still exists, so Shutdown leaves the shim serving.
  run ctl "$CTR" shutdown
  assert_success
  run ctl "$CTR" state --field status
  assert_success
  assert_eq "$output" STOPPED "status after a Shutdown before Delete"

  run ctl "$CTR" delete
  assert_success
  run rt state "$CTR"
  assert_failure
  run ctl "$CTR" shutdown
  assert_success
  wait_gone "$pid"
  wait_path_gone "$sock"
}

@test "shutdown --now ends the shim while its container runs" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  local pid sock
  pid="$(shim_pid "$CTR")"
  sock="$(shim_socket "$CTR")"
  run ctl "$CTR" shutdown --now
  assert_success
  wait_gone "$pid"
  wait_path_gone "$sock"
}

@test "malformed input fails or closes only that call; the shim keeps answering" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  local pid
  pid="$(jq -r .pid "$LIMAN_TMP/create-$CTR.json")"
  local addr
  addr="$(cat "$LIMAN_TMP/addr-$CTR")"
  still_serving() {
    run ctl "$CTR" state
    assert_success
    assert_eq "$(jq -r .status <<<"$output")" RUNNING "status after $1"
    assert_eq "$(jq -r .pid <<<"$output")" "$pid" "pid after $1"
  }

  # Bytes that are no frame at all: the connection is dropped.
  printf 'GET / HTTP/1.1\r\nHost: shim\r\n\r\n' >"$LIMAN_TMP/garbage"
  run "$SHIMCTL" --address "$addr" --timeout 30s send-bytes "$LIMAN_TMP/garbage"
  assert_success
  assert_eq "$(jq -r .closed <<<"$output")" true "connection closed after garbage"
  still_serving "garbage bytes"

  # A frame header announcing 16 MiB (ttrpc's limit is 4 MiB), then a few bytes.
  printf '\001\000\000\000\000\000\000\001\001\000abcdef' >"$LIMAN_TMP/oversized"
  run "$SHIMCTL" --address "$addr" --timeout 30s send-bytes "$LIMAN_TMP/oversized"
  assert_success
  assert_eq "$(jq -r .closed <<<"$output")" true "connection closed after an oversized frame"
  still_serving "an oversized frame"

  # A well-formed request frame whose payload is not a ttrpc Request: an error answer or a close.
  printf '\000\000\000\004\000\000\000\001\001\000\377\377\377\377' >"$LIMAN_TMP/bad-request"
  run "$SHIMCTL" --address "$addr" --timeout 5s send-bytes "$LIMAN_TMP/bad-request"
  assert_success
  if [ "$(jq -r .closed <<<"$output")" != true ]; then
    assert_eq "$(jq -r '.frames[0].status' <<<"$output")" INVALID_ARGUMENT "answer to an unparsable Request"
  fi
  still_serving "an unparsable request"

  run ctl "$CTR" raw containerd.task.v2.Task NoSuchMethod ""
  assert_failure
  assert_output_contains UNIMPLEMENTED
  run ctl "$CTR" raw containerd.task.v2.NoSuchService State ""
  assert_failure
  assert_output_contains UNIMPLEMENTED
  # Checkpoint (CheckpointTaskRequest{id}) is not supported.
  run ctl "$CTR" raw containerd.task.v2.Task Checkpoint \
    "0a$(printf '%02x' "${#CTR}")$(printf '%s' "$CTR" | od -An -tx1 | tr -d ' \n')"
  assert_failure
  assert_output_contains UNIMPLEMENTED
  # A payload that is no StateRequest (a varint field cut short).
  run ctl "$CTR" raw containerd.task.v2.Task State ffffffff
  assert_failure
  assert_output_contains INVALID_ARGUMENT
  still_serving "bad payloads"

  run ctl "$CTR" create --bundle "$(bundle_dir "$CTR")" --runtime-binary "$RUNTIME"
  assert_failure
  assert_output_matches '^[A-Z_]+: '
  run ctl "$CTR" start
  assert_failure
  assert_output_matches '^[A-Z_]+: '
  still_serving "a second Create and Start"
}
