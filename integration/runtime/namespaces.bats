#!/usr/bin/env bats
# linux.namespaces: new ones, joined ones (by path), user and time namespaces, uts names.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

@test "the container's process is pid 1 of a new pid namespace" {
  set_args '"checker","pid","ns"'
  run runtime_run "$CTR"
  assert_success
  assert_field pid 1
  assert_field ppid 0
  [ "$(field ns.pid)" != "$(host_ns pid)" ] || fail "same pid namespace as the host"
}

@test "net, ipc, uts, mnt and cgroup namespaces are new; unrequested ones are the host's" {
  jq_config '.linux.namespaces = [{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}]'
  set_args '"checker","ns"'
  run runtime_run "$CTR"
  assert_success
  local ns
  for ns in net ipc uts mnt cgroup; do
    [ "$(field "ns.$ns")" != "$(host_ns "$ns")" ] || fail "$ns namespace is the host's"
  done
  assert_field ns.user "$(host_ns user)"
  if [ -e /proc/self/ns/time ]; then
    assert_field ns.time "$(host_ns time)"
  fi
}

@test "a namespace type left out of the list is shared with the host" {
  jq_config '.linux.namespaces |= map(select(.type != "network" and .type != "ipc"))'
  set_args '"checker","ns"'
  run runtime_run "$CTR"
  assert_success
  assert_field ns.net "$(host_ns net)"
  assert_field ns.ipc "$(host_ns ipc)"
  [ "$(field ns.uts)" != "$(host_ns uts)" ] || fail "uts namespace is the host's"
}

@test "joining a network namespace by path (ip netns)" {
  local name
  name="$(make_netns)"
  jq_config --arg p "/var/run/netns/$name" \
    '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
  set_args '"checker","ns"'
  run runtime_run "$CTR"
  assert_success
  assert_field ns.net "$(stat -L -c %i "/var/run/netns/$name")"
}

@test "joining another container's uts, ipc and net namespaces by /proc/PID/ns path" {
  ctr_run_detached "$CTR"
  local pid
  pid="$(ctr_pid "$CTR")"
  jq_config --arg p "/proc/$pid/ns" 'del(.hostname)
    | .linux.namespaces |= map(
        if .type == "uts" then .path = ($p + "/uts")
        elif .type == "ipc" then .path = ($p + "/ipc")
        elif .type == "network" then .path = ($p + "/net")
        else . end)'
  set_args '"checker","ns","hostname"'
  run runtime_run "$CTR-b"
  assert_success
  assert_field ns.uts "$(pid_ns "$pid" uts)"
  assert_field ns.ipc "$(pid_ns "$pid" ipc)"
  assert_field ns.net "$(pid_ns "$pid" net)"
  [ "$(field ns.pid)" != "$(pid_ns "$pid" pid)" ] || fail "pid namespace should be new"
  [ "$(field ns.mnt)" != "$(pid_ns "$pid" mnt)" ] || fail "mount namespace should be new"
  assert_field hostname liman
}

@test "joining a namespace path that does not exist fails" {
  jq_config '.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/liman-no-such-ns" else . end)'
  run ctr_create "$CTR"
  assert_failure
  run runtime state "$CTR"
  assert_failure
}

@test "user namespace maps container uid/gid 0 to host 100000" {
  jq_config '.linux.namespaces += [{"type":"user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
  set_args '"checker","ids","ns","read","/proc/self/uid_map","read","/proc/self/gid_map","sleep","300"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '200000'
  run ctr_log "$CTR"
  assert_field uid 0
  assert_field gid 0
  [ "$(field ns.user)" != "$(host_ns user)" ] || fail "user namespace is the host's"
  assert_eq "$(grep -E '^ *0 +100000 +65536$' <<<"$output" | wc -l)" 1 "uid_map line"
  assert_eq "$(grep -E '^ *0 +200000 +65536$' <<<"$output" | wc -l)" 1 "gid_map line"
  local pid
  pid="$(ctr_pid "$CTR")"
  assert_eq "$(stat -c %u:%g "/proc/$pid")" 100000:200000 "owner of the process on the host"
  assert_eq "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" 100000 "host uid"
}

@test "user namespace with several mapping ranges" {
  jq_config '.linux.namespaces += [{"type":"user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000},
                            {"containerID": 1000, "hostID": 300000, "size": 10}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .process.user = {"uid": 1005, "gid": 5}'
  set_args '"checker","ids","read","/proc/self/uid_map","sleep","300"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '300000'
  run ctr_log "$CTR"
  assert_field uid 1005
  assert_field gid 5
  assert_eq "$(stat -c %u:%g "/proc/$(ctr_pid "$CTR")")" 300005:100005 "owner on the host"
}

@test "time namespace applies timeOffsets to boottime and monotonic clocks" {
  runtime_supports_ns time || skip "runtime does not support time namespaces (features)"
  [ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
  local boot_off=31536000 mono_off=604800
  jq_config --argjson b "$boot_off" --argjson m "$mono_off" '.linux.namespaces += [{"type":"time"}]
    | .linux.timeOffsets = {"boottime": {"secs": $b, "nanosecs": 0},
                            "monotonic": {"secs": $m, "nanosecs": 0}}'
  set_args '"checker","clocks","ns"'
  run "$CHECKER" clocks
  local host_boot host_mono
  host_boot="$(field boottime)"
  host_mono="$(field monotonic)"
  run runtime_run "$CTR"
  assert_success
  [ "$(field ns.time)" != "$(host_ns time)" ] || fail "time namespace is the host's"
  local db dm
  db=$(( $(field boottime) - host_boot ))
  dm=$(( $(field monotonic) - host_mono ))
  # The offsets, plus the (small, bounded by the test's duration) time between the two readings.
  [ "$db" -ge "$boot_off" ] && [ "$db" -lt $((boot_off + 120)) ] || fail "boottime moved by $db"
  [ "$dm" -ge "$mono_off" ] && [ "$dm" -lt $((mono_off + 120)) ] || fail "monotonic moved by $dm"
}

@test "hostname is set in the new uts namespace" {
  jq_config '.hostname = "liman-host"'
  set_args '"checker","hostname"'
  run runtime_run "$CTR"
  assert_success
  assert_field hostname liman-host
  [ "$(hostname)" != liman-host ] || fail "the host's hostname changed"
}

@test "domainname is set in the new uts namespace" {
  skip_if_runc_older_than 1.2.0 "ignores the domainname field"
  jq_config '.hostname = "liman-host" | .domainname = "liman.example"'
  set_args '"checker","hostname"'
  run runtime_run "$CTR"
  assert_success
  assert_field hostname liman-host
  assert_field domainname liman.example
}

@test "a hostname without a uts namespace is refused" {
  jq_config '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "liman-host"'
  run ctr_create "$CTR"
  assert_failure
  [ "$(hostname)" != liman-host ] || fail "the host's hostname changed"
}

@test "a cgroup namespace makes the container's cgroup its root" {
  jq_config '.linux.namespaces += [{"type":"cgroup"}]'
  set_args '"checker","cgroup"'
  run runtime_run "$CTR"
  assert_success
  # Every hierarchy line reads "N:controllers:/" inside the namespace.
  assert_eq "$(grep -vc ':/$' <<<"$output")" 0 "lines not rooted at /"
  [ "$(grep -c . <<<"$output")" -gt 0 ] || fail "empty /proc/self/cgroup"
}
