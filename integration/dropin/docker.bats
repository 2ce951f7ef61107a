#!/usr/bin/env bats
# Drop-in: the real dockerd 20.10 (over this test's own containerd 1.6 and containerd-shim-runc-v2)
# runs busybox containers with the runtime under test, registered as `--add-runtime liman=...` and
# made the default runtime.

load ../runtime/helpers
load helpers

setup_file() { dropin_setup_file docker; }
teardown_file() { dropin_teardown_file; }
setup() { dropin_setup; }
teardown() { docker_teardown; }

# docker_id NAME: the full container id.
docker_id() { docker_cmd inspect -f '{{.Id}}' "$1"; }

@test "docker info: liman is the default runtime" {
  run docker_cmd info --format '{{.DefaultRuntime}} {{json .Runtimes}}'
  assert_success
  assert_output_matches '^liman '
  assert_output_contains "$DROPIN_WRAPPER"
}

@test "docker run --rm prints the container's output" {
  run docker_cmd run --rm --network none --cidfile "$DROPIN_TMP/r1.cid" "$DROPIN_IMAGE" \
    sh -c 'echo "hello from pid $$ on $(hostname)"; id -u'
  assert_success
  assert_output_contains "hello from pid 1 on"
  assert_output_matches '^0$'
  local id
  id="$(cat "$DROPIN_TMP/r1.cid")"
  assert_runtime_verbs "$id" create start delete
  run docker_cmd ps -aq --no-trunc
  assert_output_not_contains "$id"
}

@test "docker run passes the container's exit status on" {
  run docker_cmd run --rm --network none "$DROPIN_IMAGE" sh -c 'exit 3'
  assert_status 3
  run docker_cmd run --name x4 --network none "$DROPIN_IMAGE" sh -c 'exit 4'
  assert_status 4
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}}' x4
  assert_success
  assert_eq "$output" "exited 4" "state of x4"
}

@test "docker run -t gives the container a terminal" {
  run docker_cmd run --rm -t --network none "$DROPIN_IMAGE" tty
  assert_success
  assert_output_matches '^/dev/pts/[0-9]+'
}

@test "docker run -d, exec, logs, inspect, top, stop, rm" {
  run docker_cmd run -d --name web --network none "$DROPIN_IMAGE" \
    sh -c 'echo started; trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done'
  assert_success
  local id pid
  id="$(docker_id web)"
  docker_wait_log web '^started$'

  run docker_cmd exec web sh -c 'echo "exec sees init: $(cat /proc/1/cmdline | tr "\0" " ")"'
  assert_success
  assert_output_contains "exec sees init: sh -c echo started"
  run docker_cmd exec web sh -c 'exit 5'
  assert_status 5

  # State.Pid is the container's init on the host, the runtime under test has it in its state dir,
  # and it sits in the container's cgroup under --cgroup-parent.
  pid="$(docker_cmd inspect -f '{{.State.Pid}}' web)"
  [ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "State.Pid is '$pid'"
  run runtime_state "$id"
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" running "runtime state status"
  assert_eq "$(jq -r .pid <<<"$output")" "$pid" "runtime state pid"
  grep -q ":/$DROPIN_TAG/docker/$id\$" "/proc/$pid/cgroup" || fail "$pid is not in /$DROPIN_TAG/docker/$id"
  [ "$(stat -L -c %i /proc/$pid/ns/pid)" != "$(stat -L -c %i /proc/self/ns/pid)" ] ||
    fail "the container shares the host's pid namespace"

  run docker_cmd top web -o pid,args
  assert_success
  assert_output_matches "^$pid[[:space:]]"

  run docker_cmd stop -t 10 web
  assert_success
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}}' web
  assert_eq "$output" "exited 0" "state after stop"
  run docker_cmd logs web
  assert_success
  assert_output_contains started
  assert_output_contains got-term

  run docker_cmd rm web
  assert_success
  run docker_cmd ps -aq --no-trunc
  assert_output_not_contains "$id"
  assert_runtime_verbs "$id" create start exec exec ps kill delete
  run runtime_state "$id"
  assert_failure
}

@test "docker stop escalates to SIGKILL when SIGTERM is ignored" {
  run docker_cmd run -d --name sleeper --network none "$DROPIN_IMAGE" sleep 1000
  assert_success
  local id
  id="$(docker_id sleeper)"
  run docker_cmd stop -t 1 sleeper
  assert_success
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}}' sleeper
  assert_eq "$output" "exited 137" "state after stop"
  grep -qE " kill $id 15\$" "$DROPIN_TMP/runtime-calls.log" || fail "no SIGTERM through the runtime"
  grep -qE " kill $id 9\$" "$DROPIN_TMP/runtime-calls.log" || fail "no SIGKILL through the runtime"
  run docker_cmd rm sleeper
  assert_success
}

@test "docker pause and unpause" {
  run docker_cmd run -d --name p1 --network none "$DROPIN_IMAGE" sleep 1000
  assert_success
  local id
  id="$(docker_id p1)"
  run docker_cmd pause p1
  assert_success
  run docker_cmd inspect -f '{{.State.Status}}' p1
  assert_eq "$output" paused "state after pause"
  run runtime_state "$id"
  assert_eq "$(jq -r .status <<<"$output")" paused "runtime state status"
  run docker_cmd unpause p1
  assert_success
  run docker_cmd exec p1 echo alive
  assert_success
  assert_output_contains alive
  assert_runtime_verbs "$id" create start pause resume exec
  run docker_cmd rm -f p1
  assert_success
}
