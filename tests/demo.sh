#!/usr/bin/env bash
# tests/demo.sh: `make demo`: what ramp does today, end to end on this machine.
# Builds an image from a directory tree, shows it, verifies it, builds it again
# from a copy elsewhere to show the digest depends only on the tree, and lets
# the peer tools (skopeo, umoci) take it. Cleans up after itself, also on Ctrl-C.
set -euo pipefail
ramp=${RAMP_BIN:-$(dirname "$0")/../bin/ramp}
w=$(mktemp -d /tmp/ramp-demo-XXXXXX)
trap 'rm -rf "$w"' EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a tested environment: a small tree with an app, its config and a setuid helper"
mkdir -p "$w/app/srv/www" "$w/app/etc"
printf '<h1>hello from ramp</h1>\n' >"$w/app/srv/www/index.html"
printf '#!/bin/sh\nexec httpd -f -p 8080 -h /srv/www\n' >"$w/app/srv/run"
chmod 755 "$w/app/srv/run"
printf 'port=8080\n' >"$w/app/etc/hello.conf"
find "$w/app" -printf '  %M %P\n' | sort -k2

say "ramp build: freeze it into an OCI image archive (prints the manifest digest)"
SOURCE_DATE_EPOCH=1700000000 "$ramp" build "$w/app" -o "$w/hello.oci.tar" --tag hello:v1 \
	--entrypoint /srv/run --port 8080 --health-http 8080/ --env GREETING=hello | tee "$w/digest"

say "ramp inspect: what is in it"
"$ramp" inspect "$w/hello.oci.tar"

say "ramp inspect --verify: every blob and every layer's content against its digest"
"$ramp" inspect --verify "$w/hello.oci.tar" | tail -2

say "reproducible: the same tree copied elsewhere gives the same digest"
cp -a "$w/app" "$w/copy-at-another-path"
SOURCE_DATE_EPOCH=1700000000 "$ramp" build "$w/copy-at-another-path" -o "$w/again.oci.tar" --tag hello:v1 \
	--entrypoint /srv/run --port 8080 --health-http 8080/ --env GREETING=hello
cmp "$w/hello.oci.tar" "$w/again.oci.tar" && echo "  byte-identical archives"

say "peers take it: skopeo inspect and copy, umoci unpack"
skopeo inspect "oci-archive:$w/hello.oci.tar" | jq -c '{Digest, Layers}'
skopeo copy -q "oci-archive:$w/hello.oci.tar" "oci:$w/layout:v1"
umoci unpack --image "$w/layout:v1" "$w/bundle" >/dev/null
diff -r "$w/app" "$w/bundle/rootfs" && echo "  umoci unpacked exactly the tree that was built"

say "done: see README.md for the commands"
