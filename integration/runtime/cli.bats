#!/usr/bin/env bats
# The command line itself: --version, features, spec, --root, --log, ids, usage errors.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

@test "--version prints the runtime version and the spec version" {
  run "$RUNTIME" --version
  assert_success
  assert_output_matches 'version [0-9]+\.[0-9]+'
  assert_output_matches '^spec: 1\.[0-9]+\.[0-9]+'
}

@test "features prints JSON with ociVersionMin/Max, hooks and namespaces" {
  run "$RUNTIME" features
  assert_success
  [[ "$(jq -r .ociVersionMin <<<"$output")" =~ ^1\.0\.[0-9]+ ]] || fail "ociVersionMin"
  [[ "$(jq -r .ociVersionMax <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersionMax"
  assert_eq "$(jq -c '.hooks | sort' <<<"$output")" \
    '["createContainer","createRuntime","poststart","poststop","prestart","startContainer"]' "hooks"
  local ns
  for ns in pid network mount ipc uts user cgroup; do
    jq -e --arg n "$ns" '.linux.namespaces | index($n) != null' <<<"$output" >/dev/null ||
      fail "namespace $ns not listed"
  done
  jq -e '.mountOptions | index("rbind") != null and index("ro") != null' <<<"$output" >/dev/null ||
    fail "mountOptions"
}

@test "spec writes a usable config.json" {
  local dir="$LIMAN_TMP/specdir"
  mkdir -p "$dir"
  (cd "$dir" && "$RUNTIME" spec)
  run jq -r '.ociVersion, .root.path, (.process.args | length), (.linux.namespaces | map(.type) | sort | join(","))' "$dir/config.json"
  assert_success
  [[ "${lines[0]}" =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersion ${lines[0]}"
  assert_eq "${lines[1]}" rootfs "root.path"
  [ "${lines[2]}" -ge 1 ] || fail "process.args"
  assert_eq "${lines[3]}" "ipc,mount,network,pid,uts" "namespaces"
}

@test "spec --bundle writes into the given directory" {
  local dir="$LIMAN_TMP/specdir"
  mkdir -p "$dir"
  "$RUNTIME" spec --bundle "$dir"
  jq -e .ociVersion "$dir/config.json" >/dev/null || fail "no config.json in $dir"
}

@test "spec refuses to overwrite an existing config.json" {
  local dir="$LIMAN_TMP/specdir"
  mkdir -p "$dir"
  echo '{"liman": "keep"}' >"$dir/config.json"
  run bash -c 'cd "$1" && "$2" spec' _ "$dir" "$RUNTIME"
  assert_failure
  assert_output_contains config.json
  assert_eq "$(cat "$dir/config.json")" '{"liman": "keep"}' "existing config.json"
}

@test "--root keeps the state: another root does not see the container" {
  ctr_create "$CTR"
  [ -n "$(ls -A "$STATE_ROOT")" ] || fail "nothing in --root $STATE_ROOT"
  run "$RUNTIME" --root "$LIMAN_TMP/other-root" list -q
  assert_success
  assert_eq "$output" "" "containers under another root"
  run "$RUNTIME" --root "$LIMAN_TMP/other-root" state "$CTR"
  assert_failure
}

@test "--log with --log-format json writes JSON log lines" {
  set_args '"/bin/liman-no-such-program"'
  prepare_ctr "$CTR"
  run runtime_to_file --log "$LIMAN_TMP/runtime.log" --log-format json create --bundle "$BUNDLE" "$CTR"
  assert_failure
  [ -s "$LIMAN_TMP/runtime.log" ] || fail "empty log"
  jq -e . "$LIMAN_TMP/runtime.log" >/dev/null || fail "log is not JSON lines: $(cat "$LIMAN_TMP/runtime.log")"
  assert_eq "$(jq -r 'select(.level == "error") | .msg' "$LIMAN_TMP/runtime.log" | grep -c liman-no-such-program)" 1 \
    "error line naming the program"
}

@test "invalid container ids are refused and create nothing outside --root" {
  local id
  for id in "../liman-evil" "liman/evil" ".." "."; do
    prepare_ctr x  # the cgroup path must not contain the bad id
    echo "$id" >>"$LIMAN_TMP/containers"
    run runtime_to_file create --bundle "$BUNDLE" "$id"
    assert_failure
  done
  [ ! -e "$LIMAN_TMP/liman-evil" ] || fail "state escaped the root"
  [ -z "$(ls -A "$STATE_ROOT" 2>/dev/null)" ] || fail "state created: $(ls -A "$STATE_ROOT")"
}

@test "commands without a container id fail with usage errors" {
  local cmd
  for cmd in state start kill delete pause resume ps exec; do
    run runtime "$cmd"
    assert_failure
  done
}

@test "an unknown command fails" {
  run runtime liman-no-such-command
  assert_failure
}

@test "start of an already running container fails" {
  ctr_create "$CTR"
  runtime start "$CTR"
  run runtime start "$CTR"
  assert_failure
  assert_eq "$(ctr_status "$CTR")" running "status"
}

@test "delete --force of a missing container succeeds, plain delete fails" {
  run runtime delete "liman-missing"
  assert_failure
  run runtime delete --force "liman-missing"
  assert_success
}

@test "create --bundle with a missing config.json fails" {
  rm "$BUNDLE/config.json"
  run runtime_to_file create --bundle "$BUNDLE" "$CTR"
  assert_failure
  assert_output_contains config.json
}
