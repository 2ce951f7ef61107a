#!/usr/bin/env bats
# liman-containerd pulls from a local registry and runs what it pulled: with the real ctr
# (client-side pull through content, images, leases, snapshots and diff) and with liman-ctr
# (server-side pull through liman's Transfer service), then exec, kill, pause/resume, metrics.

DROPIN_MANAGER=liman-containerd
load ../runtime/helpers
load ../dropin/helpers
load helpers

setup_file() { ctrd_setup_file; }
teardown_file() { ctrd_teardown_file; }
setup() { dropin_setup; }
teardown() { ctr_teardown; }

@test "ctr images pull --plain-http from the local registry into liman-containerd, then ctr run --rm" {
  run ctr_cmd images pull --plain-http "$REGISTRY/liman/hello:1"
  assert_success
  run ctr_cmd images ls -q
  assert_output_contains "$REGISTRY/liman/hello:1"
  run ctr_cmd snapshots ls
  assert_success
  assert_output_contains Committed
  echo p1 >>"$DROPIN_TMP/ctr-containers"
  run ctr_cmd run --rm --fifo-dir "$DROPIN_TMP/fifo" --cgroup "/$DROPIN_TAG/p1" $(ctr_runtime_flags) \
    "$REGISTRY/liman/hello:1" p1 </dev/null
  assert_success
  assert_output_contains "hello from layer two"
  assert_content_intact "$DROPIN_CTR_NS"
}

@test "the real ctr lists what liman-containerd holds: version, namespaces, images, containers, tasks, content, snapshots" {
  run ctr_cmd images pull --plain-http "$REGISTRY/liman/busybox:latest"
  assert_success
  run ctr_cmd version
  assert_success
  assert_output_contains "Revision: liman"
  run ctr_ns "" namespaces ls -q
  assert_success
  assert_output_contains "$DROPIN_CTR_NS"
  run ctr_cmd images ls
  assert_success
  assert_output_contains "$REGISTRY/liman/busybox:latest"
  assert_output_contains "linux/amd64"
  # A container (no task yet) and a running task of it.
  echo l1 >>"$DROPIN_TMP/ctr-containers"
  run ctr_cmd run -d --fifo-dir "$DROPIN_TMP/fifo" --cgroup "/$DROPIN_TAG/l1" $(ctr_runtime_flags) \
    "$REGISTRY/liman/busybox:latest" l1 sleep 1000
  assert_success
  run ctr_cmd containers ls -q
  assert_output_contains l1
  run ctr_cmd tasks ls
  assert_success
  [ -n "$(awk '$1 == "l1" && $3 == "RUNNING"' <<<"$output")" ] || fail "l1 is not RUNNING: $output"
  local target
  target="$(ctr_cmd images ls | awk -v n="$REGISTRY/liman/busybox:latest" '$1 == n { print $3 }')"
  run ctr_cmd content ls
  assert_success
  assert_output_contains "$target"
  run ctr_cmd snapshots ls
  assert_success
  [ -n "$(awk '$1 == "l1" && $3 == "Active"' <<<"$output")" ] || fail "no active snapshot l1: $output"
  run ctr_cmd tasks kill -s SIGKILL l1
  assert_success
  ctr_cmd tasks delete l1 >/dev/null 2>&1 || true
  run ctr_cmd containers rm l1
  assert_success
}

@test "liman-ctr images pull, then run --rm prints the output and passes the exit status on" {
  run lctr images pull "$REGISTRY/liman/hello:1"
  assert_success
  run lctr images ls
  assert_output_contains "$REGISTRY/liman/hello:1"
  run lctr run --rm "$REGISTRY/liman/hello:1" r1
  assert_success
  assert_output_contains "hello from layer two"
  run lctr run --rm "$REGISTRY/liman/hello:1" r2 sh -c 'echo out; echo err >&2; exit 7'
  assert_status 7
  assert_output_contains out
  run lctr containers ls -q
  assert_output_not_contains r1
  assert_content_intact "$LCTR_NS"
}

@test "liman-ctr run -d, then tasks exec, ps, pause/resume, metrics, kill, rm" {
  lctr images pull "$REGISTRY/liman/busybox:latest" >/dev/null
  run lctr run -d "$REGISTRY/liman/busybox:latest" d1 sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done'
  assert_success
  wait_lctr_status d1 RUNNING
  run lctr tasks exec --exec-id e1 d1 sh -c 'echo exec says hi; exit 4'
  assert_status 4
  assert_output_contains "exec says hi"
  run lctr tasks ps d1
  assert_success
  assert_output_matches "[0-9]+"
  run lctr tasks pause d1
  assert_success
  wait_lctr_status d1 PAUSED
  run lctr tasks resume d1
  assert_success
  wait_lctr_status d1 RUNNING
  run lctr tasks metrics d1
  assert_success
  assert_output_contains memory
  run lctr tasks kill d1
  assert_success
  wait_lctr_status d1 STOPPED
  # Like ctr, tasks rm reports a non-zero exit status (9 from the TERM trap) as a warning.
  run lctr tasks rm d1
  assert_success
  assert_output_contains "non-zero exit code 9"
  run lctr containers rm d1
  assert_success
  run lctr snapshots ls
  assert_success
  [ -z "$(awk '$1 == "d1"' <<<"$output")" ] || fail "snapshot d1 is still there: $output"
}

@test "a tag the registry does not have: an error naming it, and no image recorded" {
  run lctr images pull "$REGISTRY/liman/busybox:nosuchtag"
  assert_failure
  assert_output_contains "liman/busybox:nosuchtag"
  run lctr images ls -q
  assert_output_not_contains nosuchtag
}

@test "namespaces do not see each other's images; a namespace with images cannot be removed" {
  lctr images pull "$REGISTRY/liman/busybox:latest" >/dev/null
  run lctr -n "$LCTR_NS-other" images ls -q
  assert_success
  assert_output_not_contains liman/busybox
  run lctr namespaces rm "$LCTR_NS"
  assert_failure
}

@test "images rm: the garbage collector takes the blobs and snapshots no image needs any more" {
  lctr images pull "$REGISTRY/liman/hello:1" >/dev/null
  lctr images pull "$REGISTRY/liman/busybox:latest" >/dev/null
  local target
  target="$(lctr images ls | awk -v n="$REGISTRY/liman/hello:1" '$1 == n { print $3 }')"
  [ -n "$target" ] || fail "no target digest for liman/hello:1"
  run lctr content ls -q
  assert_output_contains "$target"
  run lctr images rm "$REGISTRY/liman/hello:1"
  assert_success
  wait_for_value 20 "is hello's manifest still stored" no lctr_has_blob "$target"
  # liman/busybox keeps what it needs.
  run lctr run --rm "$REGISTRY/liman/busybox:latest" g1 echo still here
  assert_success
  assert_output_contains "still here"
}

@test "images export, then import into another namespace: the same image" {
  lctr images pull "$REGISTRY/liman/hello:1" >/dev/null
  run lctr images export "$DROPIN_TMP/hello.tar" "$REGISTRY/liman/hello:1"
  assert_success
  run lctr -n "$LCTR_NS-import" images import "$DROPIN_TMP/hello.tar"
  assert_success
  run lctr -n "$LCTR_NS-import" images ls -q
  assert_output_contains "$REGISTRY/liman/hello:1"
  local a b
  a="$(lctr images ls | awk -v n="$REGISTRY/liman/hello:1" '$1 == n { print $3 }')"
  b="$(lctr -n "$LCTR_NS-import" images ls | awk -v n="$REGISTRY/liman/hello:1" '$1 == n { print $3 }')"
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "target digests differ: $a vs $b"
  lctr -n "$LCTR_NS-import" images rm "$REGISTRY/liman/hello:1" >/dev/null
  lctr namespaces rm "$LCTR_NS-import" >/dev/null || true
}
