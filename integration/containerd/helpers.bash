# Helpers for liman-containerd's end-to-end tests: ../dropin's daemons with liman-containerd in
# containerd's place (DROPIN_MANAGER; the real ctr still works through ctr_ns/ctr_cmd), a local
# registry (Debian's docker-registry on 127.0.0.1) fed with busybox images built here, and
# liman-ctr. Load ../runtime/helpers, then ../dropin/helpers, then this file.
#
#   LIMAN_CTR   liman-ctr under test (default: $LIMAN_BIN/liman-ctr)
#
# liman-ctr works in the namespace $DROPIN_TAG: its containers' default cgroup, /NAMESPACE/ID,
# then lies under /$DROPIN_TAG, which dropin_teardown_file empties and removes.

source "$(dirname "${BASH_SOURCE[0]}")/../lib/registry"

LIMAN_CTR="${LIMAN_CTR:-${LIMAN_BIN:-/nonexistent}/liman-ctr}"
MAKE_OCI_IMAGE="$(dirname "${BASH_SOURCE[0]}")/../lib/make-oci-image"

# ctrd_setup_file: the daemons (dropin_setup_file), then the registry with two images:
# $REGISTRY/liman/busybox:latest (busybox, Cmd ["sh"]) and $REGISTRY/liman/hello:1 (two layers,
# a Cmd printing a greeting and a file of the second layer).
ctrd_setup_file() {
  dropin_setup_file
  [ -z "${DROPIN_SKIP:-}" ] || return 0
  [ -x "$LIMAN_CTR" ] || fail "liman-ctr not found: $LIMAN_CTR (set LIMAN_CTR or LIMAN_BIN)"
  export LCTR_NS="$DROPIN_TAG"
  export REGISTRY
  REGISTRY="$(registry_start "$DROPIN_TMP/registry")" || fail "the registry did not start"
  "$MAKE_OCI_IMAGE" --busybox --push "$REGISTRY/liman/busybox:latest" >/dev/null ||
    fail "could not push liman/busybox"
  mkdir -p "$DROPIN_TMP/hello-layer/etc"
  echo "layer two" >"$DROPIN_TMP/hello-layer/etc/greeting"
  "$MAKE_OCI_IMAGE" --busybox "$DROPIN_TMP/hello-layer" --format docker \
    --cmd '["sh","-c","echo hello from $(cat /etc/greeting)"]' --push "$REGISTRY/liman/hello:1" >/dev/null ||
    fail "could not push liman/hello"
}

ctrd_teardown_file() {
  [ -n "${DROPIN_TMP:-}" ] && [ -d "$DROPIN_TMP" ] || return 0
  if [ -S "$DROPIN_TMP/containerd.sock" ] && [ -n "${LCTR_NS:-}" ]; then
    remove_ctr_containers "$LCTR_NS" $(ctr_ns "$LCTR_NS" containers ls -q 2>/dev/null)
  fi
  registry_stop "$DROPIN_TMP/registry" || true
  dropin_teardown_file
}

# lctr ARGS...: liman-ctr against the daemon, in namespace $LCTR_NS (unless ARGS say -n).
lctr() {
  timeout --kill-after=5 "${CTR_TIMEOUT:-120}" "$LIMAN_CTR" --address "$DROPIN_TMP/containerd.sock" \
    -n "$LCTR_NS" "$@" </dev/null
}

# lctr_task_status ID: the STATUS column of `liman-ctr tasks ls` for ID.
lctr_task_status() { lctr tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
# lctr_has_blob DIGEST: "yes" or "no".
lctr_has_blob() { if lctr content ls -q 2>/dev/null | grep -qx "$1"; then echo yes; else echo no; fi; }
wait_lctr_status() { wait_for_value 30 "task $1: status" "$2" lctr_task_status "$1"; }

# assert_content_intact NS: every blob the daemon lists in NS reads back with its digest and size.
assert_content_intact() {
  local ns="$1" digest size _ got
  while read -r digest size _; do
    [ "$digest" != DIGEST ] || continue
    got="$(ctr_ns "$ns" content get "$digest" | sha256sum | cut -d' ' -f1)"
    [ "sha256:$got" = "$digest" ] || fail "content $digest in $ns reads back as sha256:$got"
  done < <(ctr_ns "$ns" content ls 2>/dev/null)
}
