#!/usr/bin/env bats
# The process object: args, env, cwd, user, umask, rlimits, noNewPrivileges, oomScoreAdj,
# capabilities, terminal/console socket, plus linux.sysctl and --preserve-fds.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

@test "args are passed verbatim, including spaces, empty and quote characters" {
  jq_config '.process.args = ["sh", "-c", "for a in \"$@\"; do echo \"arg=[$a]\"; done", "sh", "a b", "", "c\"d", "$HOME"]'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$output" $'arg=[a b]\narg=[]\narg=[c"d]\narg=[$HOME]' "args"
}

@test "the program is looked up in the PATH of process.env" {
  jq_config '.process.env = ["PATH=/liman-bin"] | .process.args = ["my-checker", "pid"]'
  mkdir -p "$ROOTFS/liman-bin"
  cp "$ROOTFS/bin/checker" "$ROOTFS/liman-bin/my-checker"
  run runtime_run "$CTR"
  assert_success
  assert_field pid 1
}

@test "env is exactly process.env (plus HOME when unset)" {
  jq_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "LIMAN_X=1=2"]'
  set_args '"checker","env"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(grep -v '^HOME=' <<<"$output" | sort | paste -sd'|')" "EMPTY=|FOO=bar baz|LIMAN_X=1=2|PATH=/bin" "environment"
}

@test "cwd is process.cwd" {
  jq_config '.process.cwd = "/etc"'
  set_args '"checker","cwd"'
  run runtime_run "$CTR"
  assert_success
  assert_field cwd /etc
}

@test "user: uid, gid and additionalGids" {
  jq_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 30]}'
  set_args '"checker","ids"'
  run runtime_run "$CTR"
  assert_success
  assert_field uid 1000
  assert_field euid 1000
  assert_field gid 1001
  assert_field egid 1001
  assert_field groups 10,20,30
}

@test "a root process without additionalGids has no supplementary groups" {
  set_args '"checker","ids"'
  run runtime_run "$CTR"
  assert_success
  assert_field uid 0
  assert_field gid 0
  assert_field groups ""
}

@test "umask: process.user.umask, and 0022 by default" {
  jq_config '.process.user.umask = 23'
  set_args '"checker","ids"'
  run runtime_run "$CTR"
  assert_success
  assert_field umask 0027
  jq_config 'del(.process.user.umask)'
  run runtime_run "$CTR-b"
  assert_success
  assert_field umask 0022
}

@test "rlimits are applied" {
  jq_config '.process.rlimits = [
      {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
      {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192},
      {"type": "RLIMIT_MSGQUEUE", "soft": 1000, "hard": 2000}]'
  set_args '"checker","rlimit","NOFILE","rlimit","RLIMIT_CORE","rlimit","msgqueue"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(paste -sd' ' <<<"$output")" \
    "soft=321 hard=654 soft=4096 hard=8192 soft=1000 hard=2000" "limits"
}

@test "an unknown rlimit type is refused" {
  jq_config '.process.rlimits = [{"type": "RLIMIT_LIMAN", "soft": 1, "hard": 1}]'
  run ctr_create "$CTR"
  assert_failure
}

@test "noNewPrivileges true and false" {
  jq_config '.process.noNewPrivileges = true'
  set_args '"checker","nnp"'
  run runtime_run "$CTR"
  assert_success
  assert_field NoNewPrivs 1
  jq_config '.process.noNewPrivileges = false'
  run runtime_run "$CTR-b"
  assert_success
  assert_field NoNewPrivs 0
}

@test "oomScoreAdj is applied" {
  jq_config '.process.oomScoreAdj = 123'
  set_args '"checker","oom-score-adj"'
  run runtime_run "$CTR"
  assert_success
  assert_field oom_score_adj 123
}

@test "linux.sysctl is applied in the container's namespaces only" {
  local host_fwd host_shm
  host_fwd="$(cat /proc/sys/net/ipv4/ip_forward)"
  host_shm="$(cat /proc/sys/kernel/shmmax)"
  local want_fwd=$((1 - host_fwd))
  jq_config --arg f "$want_fwd" '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmax": "65536"}'
  set_args '"checker","sysctl","net.ipv4.ip_forward","sysctl","kernel.shmmax"'
  run runtime_run "$CTR"
  assert_success
  assert_field net.ipv4.ip_forward "$want_fwd"
  assert_field kernel.shmmax 65536
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
  assert_eq "$(cat /proc/sys/kernel/shmmax)" "$host_shm" "host shmmax"
}

@test "a net sysctl without a network namespace is refused" {
  local host_fwd
  host_fwd="$(cat /proc/sys/net/ipv4/ip_forward)"
  jq_config --arg f "$((1 - host_fwd))" '.linux.namespaces |= map(select(.type != "network"))
    | .linux.sysctl = {"net.ipv4.ip_forward": $f}'
  run ctr_create "$CTR"
  assert_failure
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
}

@test "capabilities of a root process: the five sets, with and without noNewPrivileges" {
  # As root (no SECBIT_NOROOT) execve makes permitted = effective = inheritable | bounding; with
  # no_new_privs execve cannot gain anything beyond the permitted set the runtime left.
  jq_config '.process.noNewPrivileges = false | .process.capabilities = {
      "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
      "inheritable": [], "ambient": []}'
  set_args '"checker","caps"'
  run runtime_run "$CTR"
  assert_success
  assert_field CapBnd 0000000000000421
  assert_field CapPrm 0000000000000421
  assert_field CapEff 0000000000000421
  assert_field CapInh 0000000000000000
  assert_field CapAmb 0000000000000000

  jq_config '.process.noNewPrivileges = true'
  run runtime_run "$CTR-b"
  assert_success
  assert_field CapBnd 0000000000000421
  assert_field CapPrm 0000000000000021
  assert_field CapEff 0000000000000021
  assert_field CapInh 0000000000000000
  assert_field CapAmb 0000000000000000
}

@test "capabilities of a non-root process: the five sets, ambient kept across exec" {
  jq_config '.process.user = {"uid": 1000, "gid": 1000}
    | .process.capabilities = {
      "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
      "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}'
  set_args '"checker","caps"'
  run runtime_run "$CTR"
  assert_success
  assert_field CapBnd 0000000000000421
  assert_field CapInh 0000000000000020
  assert_field CapPrm 0000000000000020
  assert_field CapEff 0000000000000020
  assert_field CapAmb 0000000000000020
}

@test "an unknown capability is refused or ignored, never granted" {
  # runc ignores names it does not know (newer than its capability list); refusing is fine too.
  jq_config '.process.noNewPrivileges = false | .process.capabilities = {
      "bounding": ["CAP_KILL", "CAP_LIMAN_NONSENSE"], "effective": ["CAP_KILL", "CAP_LIMAN_NONSENSE"],
      "permitted": ["CAP_KILL", "CAP_LIMAN_NONSENSE"]}'
  set_args '"checker","caps"'
  run runtime_run "$CTR"
  if [ "$status" -ne 0 ]; then
    assert_output_contains CAP_LIMAN_NONSENSE
  else
    assert_field CapBnd 0000000000000020
    assert_field CapEff 0000000000000020
  fi
}

@test "terminal: the pty master goes to --console-socket, stdio is the tty" {
  jq_config '.process.terminal = true'
  set_args '"checker","tty","stat","/dev/console"'
  start_console_receiver console
  ctr_create "$CTR" --console-socket "$CONSOLE_SOCK"
  runtime start "$CTR"
  wait_console_done
  output="$(tr -d '\r' <"$LIMAN_TMP/console.tty")"
  assert_field tty0 1
  assert_field tty1 1
  assert_field tty2 1
  [[ "$(field ttyname)" == /dev/pts/* ]] || fail "ttyname $(field ttyname)"
  assert_field type chr
  [ "$(field major)" -ge 136 ] && [ "$(field major)" -le 143 ] || fail "/dev/console major $(field major)"
}

@test "no terminal: stdio is not a tty" {
  set_args '"checker","tty"'
  run runtime_run "$CTR"
  assert_success
  assert_field tty0 0
  assert_field tty1 0
  assert_field tty2 0
}

@test "terminal without a console socket is refused by create" {
  jq_config '.process.terminal = true'
  run ctr_create "$CTR"
  assert_failure
  run runtime state "$CTR"
  assert_failure
}

@test "--preserve-fds passes extra descriptors through" {
  echo one >"$LIMAN_TMP/f1"
  echo two >"$LIMAN_TMP/f2"
  set_args '"sh","-c","checker fds; cat <&3; cat <&4"'
  # `run` executes this in a subshell: the redirections do not touch bats' own descriptors.
  with_fds() {
    exec 3<"$LIMAN_TMP/f1" 4<"$LIMAN_TMP/f2" 5</etc/hostname
    runtime_run "$CTR" --preserve-fds 2
  }
  run with_fds
  assert_success
  assert_field fd.3 "$LIMAN_TMP/f1"
  assert_field fd.4 "$LIMAN_TMP/f2"
  assert_field nfds 2
  assert_output_contains one
  assert_output_contains two
}
