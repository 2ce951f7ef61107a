#!/usr/bin/env bats
# Drop-in: the real containerd 1.6 and its containerd-shim-runc-v2 run busybox containers with the
# runtime under test as the shim's runc binary (ctr run --runc-binary).

load ../runtime/helpers
load helpers

setup_file() { dropin_setup_file; }
teardown_file() { dropin_teardown_file; }
setup() { dropin_setup; }
teardown() { ctr_teardown; }

@test "ctr run --rm prints the container's output and removes it" {
  run ctr_run rm1 --rm -- sh -c 'echo "hello from pid $$"; cat /proc/1/cmdline | tr "\0" " "; echo'
  assert_success
  assert_output_contains "hello from pid 1"
  assert_output_contains "sh -c echo"
  assert_runtime_verbs rm1 create start delete
  run ctr_cmd containers ls -q
  assert_success
  assert_output_not_contains rm1
  # The runtime's state is gone too.
  run runtime_state rm1
  assert_failure
}

@test "ctr run --rm passes the container's exit status on" {
  run ctr_run rm2 --rm -- sh -c 'exit 3'
  assert_status 3
  assert_runtime_verbs rm2 create start delete
}

@test "ctr run -d, task exec, task ps, task kill, task delete" {
  run ctr_run d1 -d -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  assert_success
  wait_task_status d1 RUNNING
  local pid
  pid="$(ctr_task_field d1 2)"
  [ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "no task pid for d1"

  # The runtime under test holds the container in the state dir the shim gave it, same pid.
  run runtime_state d1
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" running "runtime state status"
  assert_eq "$(jq -r .pid <<<"$output")" "$pid" "runtime state pid"
  grep -q ":/$DROPIN_TAG/d1\$" "/proc/$pid/cgroup" || fail "task $pid is not in cgroup /$DROPIN_TAG/d1"

  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e1 d1 \
    sh -c 'echo "exec sees init: $(cat /proc/1/cmdline | tr "\0" " ")"'
  assert_success
  assert_output_contains "exec sees init: sh -c trap"
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e2 d1 sh -c 'exit 7'
  assert_status 7

  run ctr_cmd task ps d1
  assert_success
  assert_output_matches "^$pid[[:space:]]"

  run ctr_cmd task kill d1  # SIGTERM: the trap exits 0
  assert_success
  wait_task_status d1 STOPPED
  run ctr_cmd task delete d1
  assert_success
  assert_output_not_contains "non-zero exit code"
  run ctr_cmd containers delete d1
  assert_success
  assert_runtime_verbs d1 create start exec exec ps kill delete
  run runtime_state d1
  assert_failure
}

@test "ctr task kill -s SIGKILL of a container that ignores SIGTERM" {
  run ctr_run d2 -d -- sleep 1000
  assert_success
  wait_task_status d2 RUNNING
  run ctr_cmd task kill -s SIGKILL d2
  assert_success
  wait_task_status d2 STOPPED
  run ctr_cmd task delete d2
  assert_success
  assert_output_contains "exit code 137"
  assert_runtime_verbs d2 create start kill delete
}

@test "ctr task pause and resume" {
  run ctr_run p1 -d -- sleep 1000
  assert_success
  wait_task_status p1 RUNNING
  run ctr_cmd task pause p1
  assert_success
  wait_task_status p1 PAUSED
  run runtime_state p1
  assert_eq "$(jq -r .status <<<"$output")" paused "runtime state status"
  run ctr_cmd task resume p1
  assert_success
  wait_task_status p1 RUNNING
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e1 p1 echo alive
  assert_success
  assert_output_contains alive
  assert_runtime_verbs p1 create start pause resume exec
}

@test "ctr task kill -s SIGKILL stops a paused task" {
  # containerd does not resume a paused task before SIGKILL: the runtime's kill must (runc thaws
  # the cgroup after SIGKILL), or the frozen task never dies and `task delete` waits for ever.
  run ctr_run p2 -d -- sleep 1000
  assert_success
  wait_task_status p2 RUNNING
  run ctr_cmd task pause p2
  assert_success
  wait_task_status p2 PAUSED
  run ctr_cmd task kill -s SIGKILL p2
  assert_success
  wait_task_status p2 STOPPED
  run ctr_cmd task delete p2
  assert_success
  assert_output_contains "exit code 137"
  assert_runtime_verbs p2 create start pause kill delete
}
