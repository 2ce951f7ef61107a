#!/usr/bin/env bats
# Container lifecycle: create/start/run/kill/delete/state/list/ps/pause/resume/events/update.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

@test "create leaves the process blocked until start" {
  set_args '"checker","write","/ran","yes","sleep","300"'
  ctr_create "$CTR"
  run ctr_state "$CTR"
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" created "status after create"
  local pid
  pid="$(jq -r .pid <<<"$output")"
  [ "$pid" -gt 0 ] || fail "pid $pid"
  [ -d "/proc/$pid" ] || fail "created container's process $pid does not exist"
  # The user's program has not run: its first action would create /ran.
  sleep 0.3
  [ ! -e "$ROOTFS/ran" ] || fail "the process ran before start"

  runtime start "$CTR"
  wait_file "$ROOTFS/ran"
  assert_eq "$(cat "$ROOTFS/ran")" yes "marker"
  assert_eq "$(ctr_status "$CTR")" running "status after start"
  assert_eq "$(ctr_pid "$CTR")" "$pid" "pid after start"
}

@test "a container whose process exits becomes stopped" {
  set_args '"checker","exit","0"'
  ctr_create "$CTR"
  runtime start "$CTR"
  wait_status "$CTR" stopped
  run ctr_state "$CTR"
  assert_success
  assert_eq "$(jq -r ".pid // 0" <<<"$output")" 0 "pid of a stopped container (0 or absent)"
}

@test "state reports ociVersion, id, status, pid and bundle" {
  ctr_create "$CTR" --pid-file "$LIMAN_TMP/pid"
  run ctr_state "$CTR"
  assert_success
  jq -e . <<<"$output" >/dev/null || fail "state is not JSON: $output"
  [[ "$(jq -r .ociVersion <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersion: $output"
  assert_eq "$(jq -r .id <<<"$output")" "$CTR" "id"
  assert_eq "$(jq -r .status <<<"$output")" created "status"
  assert_eq "$(jq -r .pid <<<"$output")" "$(cat "$LIMAN_TMP/pid")" "pid"
  assert_eq "$(jq -r .bundle <<<"$output")" "$BUNDLE" "bundle"
}

@test "state of an unknown container fails" {
  run runtime state "no-such-container"
  assert_failure
  assert_output_contains "does not exist"
}

@test "run exits with the container's exit code" {
  set_args '"checker","exit","42"'
  run runtime_run "$CTR"
  assert_status 42
  set_args '"checker","exit","0"'
  run runtime_run "$CTR-b"
  assert_status 0
}

@test "run forwards the container's output" {
  set_args '"checker","pid"'
  run runtime_run "$CTR"
  assert_success
  assert_field pid 1
}

@test "run --detach returns while the container keeps running" {
  ctr_run_detached "$CTR"
  assert_eq "$(ctr_status "$CTR")" running "status"
  local pid
  pid="$(ctr_pid "$CTR")"
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "checker sleep 300 " "cmdline of the container process"
}

@test "kill sends SIGTERM by default" {
  set_args '"checker","signals"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '^ready$'
  runtime kill "$CTR"
  wait_status "$CTR" stopped
  wait_log "$CTR" '^signal=15$'
}

@test "kill accepts signal names with and without SIG and numbers" {
  set_args '"checker","signals"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '^ready$'
  runtime kill "$CTR" USR1
  wait_log "$CTR" '^signal=10$'
  runtime kill "$CTR" SIGUSR2
  wait_log "$CTR" '^signal=12$'
  runtime kill "$CTR" 1
  wait_log "$CTR" '^signal=1$'
  assert_eq "$(ctr_status "$CTR")" running "status after non-fatal signals"
  runtime kill "$CTR" KILL
  wait_status "$CTR" stopped
}

@test "kill of an unknown signal fails" {
  ctr_run_detached "$CTR"
  run runtime kill "$CTR" NOSUCHSIG
  assert_failure
  assert_eq "$(ctr_status "$CTR")" running "status"
}

@test "kill --all signals every process of the container" {
  # init handles SIGUSR1 and survives, the two sleeps die of it: only --all reaches them.
  set_args '"sh","-c","sleep 300 & sleep 300 & exec checker signals"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '^ready$'
  local procs
  procs="$(cg_dir pids "$CG_PARENT/$CTR")/cgroup.procs"
  for _ in $(seq 100); do [ "$(wc -l <"$procs")" -eq 3 ] && break; sleep 0.1; done
  assert_eq "$(wc -l <"$procs")" 3 "processes before kill --all"

  runtime kill --all "$CTR" USR1
  wait_log "$CTR" '^signal=10$'
  for _ in $(seq 100); do [ "$(wc -l <"$procs")" -eq 1 ] && break; sleep 0.1; done
  assert_eq "$(cat "$procs")" "$(ctr_pid "$CTR")" "processes after kill --all"
  assert_eq "$(ctr_status "$CTR")" running "status"
}

@test "delete removes a stopped container, its state and its cgroup" {
  set_args '"checker","exit","0"'
  ctr_create "$CTR"
  runtime start "$CTR"
  wait_status "$CTR" stopped
  runtime delete "$CTR"
  run runtime state "$CTR"
  assert_failure
  [ ! -e "$STATE_ROOT/$CTR" ] || fail "state dir left: $STATE_ROOT/$CTR"
  [ ! -d "$(cg_dir memory "$CG_PARENT/$CTR")" ] || fail "cgroup left"
}

@test "delete of a created container kills its process" {
  ctr_create "$CTR"
  local pid
  pid="$(ctr_pid "$CTR")"
  runtime delete --force "$CTR"
  run runtime state "$CTR"
  assert_failure
  for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ ! -d "/proc/$pid" ] || fail "process $pid still alive"
}

@test "delete of a running container fails without --force and works with it" {
  ctr_run_detached "$CTR"
  local pid
  pid="$(ctr_pid "$CTR")"
  run runtime delete "$CTR"
  assert_failure
  assert_eq "$(ctr_status "$CTR")" running "status after refused delete"

  runtime delete --force "$CTR"
  run runtime state "$CTR"
  assert_failure
  for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ ! -d "/proc/$pid" ] || fail "process $pid still alive"
  [ ! -d "$(cg_dir memory "$CG_PARENT/$CTR")" ] || fail "cgroup left"
}

@test "list shows containers as a table, as JSON and quietly" {
  ctr_create "$CTR"
  ctr_run_detached "$CTR-b"
  run runtime list
  assert_success
  assert_output_matches '^ID +PID +STATUS +BUNDLE'
  assert_output_matches "^$CTR +[0-9]+ +created +$BUNDLE"
  assert_output_matches "^$CTR-b +[0-9]+ +running +$BUNDLE"

  run runtime list --format json
  assert_success
  assert_eq "$(jq length <<<"$output")" 2 "number of containers"
  assert_eq "$(jq -r --arg id "$CTR" '.[] | select(.id == $id) | .status' <<<"$output")" created
  assert_eq "$(jq -r --arg id "$CTR-b" '.[] | select(.id == $id) | .status' <<<"$output")" running
  assert_eq "$(jq -r --arg id "$CTR-b" '.[] | select(.id == $id) | .pid' <<<"$output")" \
    "$(ctr_pid "$CTR-b")" "pid"
  assert_eq "$(jq -r --arg id "$CTR" '.[] | select(.id == $id) | .bundle' <<<"$output")" "$BUNDLE"

  run runtime list -q
  assert_success
  assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "$CTR $CTR-b " "list -q"
}

@test "ps lists the container's processes as a table and as JSON" {
  ctr_run_detached "$CTR"
  runtime exec --detach --pid-file "$LIMAN_TMP/exec.pid" "$CTR" checker sleep 300 \
    </dev/null >/dev/null 2>&1
  local init execpid
  init="$(ctr_pid "$CTR")"
  execpid="$(cat "$LIMAN_TMP/exec.pid")"

  run runtime ps "$CTR"
  assert_success
  assert_output_matches '^UID +PID +PPID'
  assert_output_matches "^[a-z0-9]+ +$init +"
  assert_output_matches "^[a-z0-9]+ +$execpid +"

  run runtime ps --format json "$CTR"
  assert_success
  assert_eq "$(jq -c 'sort' <<<"$output")" "$(jq -nc --argjson a "$init" --argjson b "$execpid" '[$a, $b] | sort')" "ps json"
}

@test "--pid-file receives the container's pid" {
  ctr_create "$CTR" --pid-file "$LIMAN_TMP/create.pid"
  assert_eq "$(cat "$LIMAN_TMP/create.pid")" "$(ctr_pid "$CTR")" "create --pid-file"
  ctr_run_detached "$CTR-b" --pid-file "$LIMAN_TMP/run.pid"
  assert_eq "$(cat "$LIMAN_TMP/run.pid")" "$(ctr_pid "$CTR-b")" "run --pid-file"
}

@test "pause freezes the container and resume thaws it" {
  set_args '"sh","-c","while true; do checker write /tmp/tick x >/dev/null; sleep 0.05; done"'
  ctr_run_detached "$CTR"
  wait_file "$ROOTFS/tmp/tick"
  runtime pause "$CTR"
  assert_eq "$(ctr_status "$CTR")" paused "status after pause"
  if cgroup_v2_only; then
    assert_eq "$(cat "/sys/fs/cgroup$CG_PARENT/$CTR/cgroup.freeze")" 1 "cgroup.freeze"
  else
    assert_eq "$(cat "/sys/fs/cgroup/freezer$CG_PARENT/$CTR/freezer.state")" FROZEN "freezer.state"
  fi
  # Frozen: the loop must not touch its file any more.
  rm -f "$ROOTFS/tmp/tick"
  sleep 0.5
  [ ! -e "$ROOTFS/tmp/tick" ] || fail "the container kept running while paused"

  runtime resume "$CTR"
  assert_eq "$(ctr_status "$CTR")" running "status after resume"
  if ! cgroup_v2_only; then
    assert_eq "$(cat "/sys/fs/cgroup/freezer$CG_PARENT/$CTR/freezer.state")" THAWED "freezer.state"
  fi
  wait_file "$ROOTFS/tmp/tick"
}

@test "a create whose program does not exist fails and leaves nothing behind" {
  set_args '"/bin/liman-no-such-program"'
  run ctr_create "$CTR"
  assert_failure
  assert_output_contains "liman-no-such-program"
  run runtime state "$CTR"
  assert_failure
  [ ! -e "$STATE_ROOT/$CTR" ] || fail "state dir left: $(ls -la "$STATE_ROOT")"
  run find /sys/fs/cgroup -maxdepth 4 -type d -path "*$CG_PARENT/$CTR"
  assert_eq "$output" "" "cgroups left"
}

@test "a create with a bad mount fails and leaves nothing behind" {
  jq_config '.mounts += [{"destination": "/mnt/bad", "type": "liman-no-such-fs", "source": "none"}]'
  run ctr_create "$CTR"
  assert_failure
  assert_output_contains "/mnt/bad"
  run runtime state "$CTR"
  assert_failure
  [ ! -e "$STATE_ROOT/$CTR" ] || fail "state dir left"
  run find /sys/fs/cgroup -maxdepth 4 -type d -path "*$CG_PARENT/$CTR"
  assert_eq "$output" "" "cgroups left"
}

@test "create with an id already in use fails" {
  ctr_create "$CTR"
  run ctr_create "$CTR"
  assert_failure
  assert_eq "$(ctr_status "$CTR")" created "first container"
}

@test "events --stats prints one JSON stats event with memory and pids data" {
  set_args '"sh","-c","checker sleep 300 & checker sleep 300 & wait"'
  ctr_run_detached "$CTR"
  local procs
  procs="$(cg_dir pids "$CG_PARENT/$CTR")/cgroup.procs"
  for _ in $(seq 100); do [ "$(wc -l <"$procs")" -eq 3 ] && break; sleep 0.1; done
  run runtime events --stats "$CTR"
  assert_success
  assert_eq "$(jq -r .type <<<"$output")" stats "type"
  assert_eq "$(jq -r .id <<<"$output")" "$CTR" "id"
  assert_eq "$(jq -r .data.pids.current <<<"$output")" 3 "pids.current"
  local usage
  usage="$(jq -r .data.memory.usage.usage <<<"$output")"
  [ "$usage" -gt 0 ] || fail "memory usage: $usage"
}

@test "update changes the memory and pids limits of the cgroup" {
  jq_config '.linux.resources.memory = {"limit": 134217728} | .linux.resources.pids = {"limit": 100}'
  ctr_run_detached "$CTR"
  local cg="$CG_PARENT/$CTR"
  assert_eq "$(cg_read memory memory.limit_in_bytes memory.max "$cg")" 134217728 "memory before"
  assert_eq "$(cg_read pids pids.max pids.max "$cg")" 100 "pids before"
  runtime update --memory 67108864 --pids-limit 42 "$CTR"
  assert_eq "$(cg_read memory memory.limit_in_bytes memory.max "$cg")" 67108864 "memory after"
  assert_eq "$(cg_read pids pids.max pids.max "$cg")" 42 "pids after"
}

@test "update --resources reads a JSON resources file" {
  ctr_run_detached "$CTR"
  echo '{"pids": {"limit": 77}}' >"$LIMAN_TMP/res.json"
  runtime update --resources "$LIMAN_TMP/res.json" "$CTR"
  assert_eq "$(cg_read pids pids.max pids.max "$CG_PARENT/$CTR")" 77 "pids.max"
}
