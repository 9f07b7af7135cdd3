#!/usr/bin/env bash
# images/hello/build.sh OUT.tar VERSION [VARIANT] [-- RAMP BUILD OPTIONS...]:
# the demo service as an OCI image archive, in one of its release variants
# (README.md here). Prints the manifest digest, as `ramp build` does.
#   VARIANT  good (default) | crash | fail-after=N
#   RAMP_BIN, RAMP_HELLO  the ramp and hello binaries (default: this tree's build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ramp=${RAMP_BIN:-$here/../../bin/ramp}
hello=${RAMP_HELLO:-$here/../../build/release/images/hello/hello}
usage() { echo "usage: $0 OUT.tar VERSION [good|crash|fail-after=N] [-- RAMP BUILD OPTIONS...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
out=$1 version=$2
shift 2
variant=good
if [ $# -gt 0 ] && [ "$1" != -- ]; then variant=$1; shift; fi
if [ $# -gt 0 ]; then [ "$1" = -- ] || usage; shift; fi
case $variant in
good) env=() ;;
crash) env=(--env HELLO_MODE=crash) ;;
fail-after=[0-9]*) env=(--env "HELLO_FAIL_AFTER=${variant#fail-after=}") ;;
*) usage ;;
esac
[ -x "$hello" ] || { echo "$0: no hello binary at $hello (run make)" >&2; exit 1; }
tree=$(mktemp -d "${TMPDIR:-/tmp}/hello-tree-XXXXXX")
trap 'rm -rf "$tree"' EXIT
install -m 0755 "$hello" "$tree/hello"
"$ramp" build "$tree" -o "$out" --tag "hello:$version" --entrypoint /hello --port 8080 \
	--health-http 8080/health --health-interval 200ms --health-timeout 1s \
	--env "HELLO_VERSION=$version" "${env[@]}" --label "io.ramp.example.variant=$variant" "$@"
