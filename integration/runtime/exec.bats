#!/usr/bin/env bats
# exec: a new process in a running container.

load helpers

setup() {
  liman_setup
  ctr_run_detached "$CTR"
  INIT_PID="$(ctr_pid "$CTR")"
}
teardown() { liman_teardown; }

@test "exec runs a process with its args and returns its exit code" {
  run runtime exec "$CTR" sh -c 'echo "[$1] [$2]"; exit 7' sh "a b" ""
  assert_status 7
  assert_eq "$output" "[a b] []" "output"
  run runtime exec "$CTR" checker exit 0
  assert_status 0
}

@test "exec joins the container's namespaces and cgroups" {
  run runtime exec "$CTR" checker ns pid cgroup
  assert_success
  local ns
  for ns in pid net mnt ipc uts user cgroup; do
    assert_field "ns.$ns" "$(pid_ns "$INIT_PID" "$ns")"
  done
  [ "$(field pid)" -gt 1 ] || fail "exec'd process is pid $(field pid)"
  assert_field ppid 0
  grep -E '^[0-9]+:' <<<"$output" >"$LIMAN_TMP/exec.cgroup"
  diff "$LIMAN_TMP/exec.cgroup" "/proc/$INIT_PID/cgroup" || fail "cgroups differ"
}

@test "exec uses the container's process settings by default" {
  run runtime exec "$CTR" checker caps ids nnp cwd
  assert_success
  assert_field CapBnd "$(awk '/^CapBnd:/ { print $2 }' "/proc/$INIT_PID/status")"
  assert_field CapEff "$(awk '/^CapEff:/ { print $2 }' "/proc/$INIT_PID/status")"
  assert_field uid 0
  assert_field NoNewPrivs "$(jq -r 'if .process.noNewPrivileges then 1 else 0 end' "$BUNDLE/config.json")"
  assert_field cwd "$(jq -r .process.cwd "$BUNDLE/config.json")"
}

@test "exec --process FILE" {
  jq -n '{"args": ["checker", "ids", "cwd", "env"], "cwd": "/etc", "env": ["PATH=/bin", "LIMAN_P=1"],
          "user": {"uid": 1234, "gid": 5678, "additionalGids": [9]}, "terminal": false,
          "noNewPrivileges": true}' >"$LIMAN_TMP/process.json"
  run runtime exec --process "$LIMAN_TMP/process.json" "$CTR"
  assert_success
  assert_field uid 1234
  assert_field gid 5678
  assert_field groups 9
  assert_field cwd /etc
  assert_field LIMAN_P 1
  assert_field PATH /bin
}

@test "exec --env and --cwd" {
  run runtime exec --env LIMAN_A=1 --env "LIMAN_B=x y" --cwd /tmp "$CTR" checker env cwd
  assert_success
  assert_field LIMAN_A 1
  assert_field LIMAN_B "x y"
  assert_field cwd /tmp
  # The container's own environment is kept.
  assert_field PATH "$(jq -r '.process.env[] | select(startswith("PATH=")) | .[5:]' "$BUNDLE/config.json")"
}

@test "exec --user uid:gid and --additional-gids" {
  run runtime exec --user 1000:1001 --additional-gids 20 --additional-gids 30 "$CTR" checker ids
  assert_success
  assert_field uid 1000
  assert_field gid 1001
  assert_field groups 20,30
}

@test "exec --cap adds a capability" {
  local sys_admin=$((1 << 21))
  run runtime exec "$CTR" checker caps
  assert_success
  (( (0x$(field CapEff) & sys_admin) == 0 )) || fail "CAP_SYS_ADMIN without --cap"
  run runtime exec --cap CAP_SYS_ADMIN "$CTR" checker caps
  assert_success
  (( (0x$(field CapEff) & sys_admin) != 0 )) || fail "CAP_SYS_ADMIN not effective: $(field CapEff)"
  (( (0x$(field CapBnd) & sys_admin) != 0 )) || fail "CAP_SYS_ADMIN not in bounding: $(field CapBnd)"
}

@test "exec --detach --pid-file" {
  runtime exec --detach --pid-file "$LIMAN_TMP/exec.pid" "$CTR" checker sleep 300 \
    </dev/null >/dev/null 2>&1
  local pid
  pid="$(cat "$LIMAN_TMP/exec.pid")"
  track_pid "$pid"
  [ -d "/proc/$pid" ] || fail "exec'd process $pid is not running"
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "checker sleep 300 " "cmdline"
  assert_eq "$(pid_ns "$pid" pid)" "$(pid_ns "$INIT_PID" pid)" "pid namespace"
  assert_eq "$(pid_ns "$pid" mnt)" "$(pid_ns "$INIT_PID" mnt)" "mount namespace"
}

@test "exec --tty with --console-socket gives the process a terminal" {
  start_console_receiver exec
  runtime exec --detach --tty --console-socket "$CONSOLE_SOCK" "$CTR" checker tty
  wait_console_done
  output="$(tr -d '\r' <"$LIMAN_TMP/exec.tty")"
  assert_field tty0 1
  assert_field tty1 1
  assert_field tty2 1
}

@test "exec into a paused container is refused" {
  runtime pause "$CTR"
  run runtime exec "$CTR" checker exit 0
  assert_failure
  runtime resume "$CTR"
}

@test "exec into a stopped container fails" {
  runtime kill "$CTR" KILL
  wait_status "$CTR" stopped
  run runtime exec "$CTR" checker exit 0
  assert_failure
}

@test "exec of a missing program fails with a message" {
  run runtime exec "$CTR" /bin/liman-no-such-program
  assert_failure
  assert_output_contains liman-no-such-program
  assert_eq "$(ctr_status "$CTR")" running "container status"
}
