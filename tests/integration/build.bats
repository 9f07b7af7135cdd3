#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# build.bats: `ramp build` and `ramp inspect`: reproducibility, fidelity
# checked by peers (skopeo, umoci), settings, and refusal of bad input.

load helpers

setup() {
	common_setup
	make_tree "$T/app"
}

teardown() {
	common_teardown
}

digest_of() { "$RAMP_BIN" build "$@"; }

@test "build: same tree twice gives the same digest and the same bytes" {
	run "$RAMP_BIN" build "$T/app" -o "$T/a.tar"
	[ "$status" -eq 0 ]
	d1=$output
	[[ "$d1" =~ ^sha256:[0-9a-f]{64}$ ]]
	run "$RAMP_BIN" build "$T/app" -o "$T/b.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "$d1" ]
	cmp "$T/a.tar" "$T/b.tar"
}

@test "build: a cp -a copy at another path gives the same digest" {
	d1=$("$RAMP_BIN" build "$T/app" -o "$T/a.tar")
	mkdir -p "$T/elsewhere/deeper"
	cp -a "$T/app" "$T/elsewhere/deeper/copy"
	d2=$("$RAMP_BIN" build "$T/elsewhere/deeper/copy" -o "$T/b.tar")
	[ "$d1" = "$d2" ]
	cmp "$T/a.tar" "$T/b.tar"
}

@test "build: the order in which the file system lists entries does not matter" {
	# tmpfs lists a directory newest first: create the same names in opposite orders
	mkdir "$T/mnt"
	mount -t tmpfs tmpfs "$T/mnt"
	mkdir "$T/mnt/x" "$T/mnt/y"
	for n in a b c d e f g; do echo "$n" >"$T/mnt/x/$n"; done
	for n in g f e d c b a; do echo "$n" >"$T/mnt/y/$n"; done
	touch -d @1000000 "$T"/mnt/x/* "$T"/mnt/y/* "$T/mnt/x" "$T/mnt/y"
	[ "$(ls -U "$T/mnt/x" | head -1)" != "$(ls -U "$T/mnt/y" | head -1)" ]
	dx=$("$RAMP_BIN" build "$T/mnt/x" -o "$T/x.tar")
	dy=$("$RAMP_BIN" build "$T/mnt/y" -o "$T/y.tar")
	umount "$T/mnt"
	[ "$dx" = "$dy" ]
}

@test "build: SOURCE_DATE_EPOCH clamps mtimes and sets created" {
	touch -d '2030-01-01' "$T/app/dir/hello"
	SOURCE_DATE_EPOCH=1700000000 "$RAMP_BIN" build "$T/app" -o "$T/a.tar" --tag t
	run "$RAMP_BIN" inspect --json "$T/a.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r .created <<<"$output")" = "2023-11-14T22:13:20Z" ]
	mkdir "$T/l" && tar -xf "$T/a.tar" -C "$T/l"
	umoci unpack --image "$T/l:t" "$T/u"
	[ "$(stat -c %Y "$T/u/rootfs/dir/hello")" = 1700000000 ]
	# older mtimes are kept as they are
	[ "$(stat -c %Y "$T/u/rootfs/dir")" = "$(stat -c %Y "$T/app/dir")" ]
	# and without SOURCE_DATE_EPOCH there is no timestamp at all
	"$RAMP_BIN" build "$T/app" -o "$T/b.tar"
	[ "$("$RAMP_BIN" inspect --json "$T/b.tar" | jq -r '.created // "none"')" = none ]
}

@test "build: umoci unpack reproduces the tree exactly" {
	"$RAMP_BIN" build "$T/app" -o "$T/a.tar" --tag t
	mkdir "$T/l" && tar -xf "$T/a.tar" -C "$T/l"
	umoci unpack --image "$T/l:t" "$T/u"
	tree_manifest "$T/app" >"$T/want"
	tree_manifest "$T/u/rootfs" >"$T/got"
	# the fixture really holds the hard cases
	grep -q 'capability' "$T/want"
	grep -q '0o4755' "$T/want"
	grep -q 'user.note' "$T/want"
	grep -q '1234:5678' "$T/want"
	grep -q 'nlink=2' "$T/want"
	diff "$T/want" "$T/got"
}

# Names and link targets of every kind a file system holds: UTF-8 (accents,
# NFD, emoji, CJK), Latin-1 bytes that are not UTF-8, a newline, control
# bytes, and versions over 100 bytes (beyond the ustar name field) of each.
make_names_tree() {
	local d=$1 l8 l1 lnl
	mkdir -p "$d"
	printf 'utf8\n' >"$d/café.txt"
	printf 'nfd\n' >"$d/$(printf 'cafe\xcc\x81')"
	printf 'emoji\n' >"$d/🚀-rocket"
	printf 'cjk\n' >"$d/日本語.txt"
	printf 'latin1\n' >"$d/$(printf 'lat\xe9n')"
	printf 'newline\n' >"$d/$(printf 'new\nline')"
	printf 'ctl\n' >"$d/$(printf 'tab\there \\ \x01')"
	ln -s café.txt "$d/link-utf8"
	ln -s "$(printf 'lat\xe9n')" "$d/link-latin1"
	ln -s "$(printf 'new\nline')" "$d/link-newline"
	ln -s "$(printf '\xff\xfe/nowhere')" "$d/$(printf 'dangling-\xe9')"
	ln "$d/日本語.txt" "$d/hard-日本"
	ln "$d/$(printf 'lat\xe9n')" "$d/$(printf 'hard-\xe9')"
	l8=$(printf 'é%.0s' $(seq 60))
	l1=$(printf '\xe9%.0s' $(seq 120))
	lnl=$(printf 'n\n%.0s' $(seq 60); echo x)
	mkdir -p "$d/$l8/$l1"
	printf 'long utf8\n' >"$d/$l8/$l1/$lnl"
	printf 'long latin1\n' >"$d/$l8/$l1/$l1"
	ln -s "$l8/$l1/$lnl" "$d/long-link-newline"
	ln -s "$l8/$l1/$l1" "$d/long-link-latin1"
	ln -s "$(printf '🚀%.0s' $(seq 30))" "$d/long-link-emoji"
	ln "$d/$l8/$l1/$l1" "$d/$l8/hard-$l1"
}

@test "build: names and link targets that are not ASCII or not UTF-8 come back byte for byte (umoci, skopeo, ramp's unpack)" {
	make_names_tree "$T/names"
	d=$("$RAMP_BIN" build "$T/names" -o "$T/a.tar" --tag t)
	tree_manifest "$T/names" >"$T/want"
	# the fixture holds what it claims (tree_manifest writes bytes outside 0x21-0x7e as \xNN)
	grep -q '^caf\\xc3\\xa9.txt ' "$T/want"
	grep -q '^lat\\xe9n ' "$T/want"
	grep -q '^new\\x0aline ' "$T/want"
	grep -q -- '-> \\xff\\xfe/nowhere' "$T/want"
	grep -qF "/$(printf '\\xe9%.0s' $(seq 120))/$(printf 'n\\x0a%.0s' $(seq 60))x " "$T/want"
	[ "$(grep -c 'nlink=2' "$T/want")" = 6 ]
	# umoci (Go's archive/tar) from the archive
	mkdir "$T/l" && tar -xf "$T/a.tar" -C "$T/l"
	umoci unpack --image "$T/l:t" "$T/u" >/dev/null
	tree_manifest "$T/u/rootfs" >"$T/got-umoci"
	diff "$T/want" "$T/got-umoci"
	# skopeo's copy, then umoci
	skopeo copy -q "oci-archive:$T/a.tar" "oci:$T/sk:t"
	umoci unpack --image "$T/sk:t" "$T/u2" >/dev/null
	tree_manifest "$T/u2/rootfs" >"$T/got-skopeo"
	diff "$T/want" "$T/got-skopeo"
	# ramp's own unpack: the store's layer directory and the flattened tree
	"$RAMP_HELPERS/store_tool" import "$T/store" "$T/a.tar" >"$T/import"
	tree_manifest "$(sed -n 2p "$T/import")" >"$T/got-layer"
	diff "$T/want" "$T/got-layer"
	mkdir "$T/flat"
	"$RAMP_HELPERS/store_tool" flatten "$T/store" "$d" "$T/flat"
	tree_manifest "$T/flat" >"$T/got-flat"
	diff "$T/want" "$T/got-flat"
}

@test "build: the same tree gives the same digest and bytes in every locale" {
	make_names_tree "$T/names"
	d=$(LC_ALL=C "$RAMP_BIN" build "$T/names" -o "$T/C.tar")
	for loc in POSIX C.UTF-8 en_US.UTF-8; do
		[ "$(LC_ALL=$loc LANG=$loc "$RAMP_BIN" build "$T/names" -o "$T/$loc.tar")" = "$d" ]
		cmp "$T/C.tar" "$T/$loc.tar"
	done
}

@test "build: skopeo accepts the archive and copies it keeping every digest" {
	d=$("$RAMP_BIN" build "$T/app" -o "$T/a.tar" --tag app:v1)
	run skopeo inspect "oci-archive:$T/a.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r .Digest <<<"$output")" = "$d" ]
	skopeo copy -q "oci-archive:$T/a.tar" "oci:$T/copy:v1"
	[ "$(jq -r '.manifests[0].digest' "$T/copy/index.json")" = "$d" ]
	want=$("$RAMP_BIN" inspect --json "$T/a.tar" | jq -c '[.layers[].digest]')
	got=$("$RAMP_BIN" inspect --json "$T/copy" | jq -c '[.layers[].digest]')
	[ "$want" = "$got" ]
	"$RAMP_BIN" inspect --verify "$T/copy"
}

@test "build: --docker-manifest archive is read by skopeo's docker-archive transport" {
	d=$("$RAMP_BIN" build "$T/app" -o "$T/a.tar" --tag app:v1 --docker-manifest)
	tar -xOf "$T/a.tar" manifest.json | jq -e '.[0].RepoTags[0] == "app:v1" and (.[0].Layers | length) == 1'
	run skopeo inspect "docker-archive:$T/a.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.RepoTags[0] // .Name' <<<"$output")" != "" ]
	# skopeo converts to docker schema 2 here, so compare the layer content, not the manifest
	skopeo copy -q "docker-archive:$T/a.tar" "oci:$T/copy:x"
	[ "$("$RAMP_BIN" inspect --json "$T/copy" | jq -r '.layers[0].diffId')" = \
	  "$("$RAMP_BIN" inspect --json "$T/a.tar" | jq -r '.layers[0].diffId')" ]
}

@test "build: several directories become several layers, lowest first" {
	mkdir -p "$T/top/dir"
	echo over >"$T/top/dir/hello"
	"$RAMP_BIN" build "$T/app" "$T/top" -o "$T/a.tar" --tag t
	[ "$("$RAMP_BIN" inspect --json "$T/a.tar" | jq '.layers | length')" = 2 ]
	mkdir "$T/l" && tar -xf "$T/a.tar" -C "$T/l"
	umoci unpack --image "$T/l:t" "$T/u"
	[ "$(cat "$T/u/rootfs/dir/hello")" = over ]
	[ -f "$T/u/rootfs/dir/random.bin" ]
}

@test "build: --from reuses the base's layers byte for byte and inherits its settings" {
	"$RAMP_BIN" build "$T/app" -o "$T/base.tar" --env A=1 --env B=2 --entrypoint /bin/base --workdir /srv
	mkdir -p "$T/more" && echo more >"$T/more/file"
	"$RAMP_BIN" build --from "$T/base.tar" "$T/more" -o "$T/app.tar" --env B=3 --cmd '["x","y"]'
	base=$("$RAMP_BIN" inspect --json "$T/base.tar")
	app=$("$RAMP_BIN" inspect --json "$T/app.tar")
	[ "$(jq -r '.layers[0].digest' <<<"$base")" = "$(jq -r '.layers[0].digest' <<<"$app")" ]
	[ "$(jq '.layers | length' <<<"$app")" = 2 ]
	[ "$(jq -c .config.env <<<"$app")" = '["A=1","B=3"]' ]
	[ "$(jq -c .config.entrypoint <<<"$app")" = '["/bin/base"]' ]
	[ "$(jq -c .config.cmd <<<"$app")" = '["x","y"]' ]
	[ "$(jq -r .config.workdir <<<"$app")" = /srv ]
	"$RAMP_BIN" inspect --verify "$T/app.tar"
	# from a layout directory as well
	"$RAMP_BIN" build "$T/app" --layout "$T/baselayout"
	d1=$("$RAMP_BIN" build --from "$T/baselayout" "$T/more" -o "$T/c.tar")
	d2=$("$RAMP_BIN" build --from "$T/baselayout" "$T/more" -o "$T/d.tar")
	[ "$d1" = "$d2" ]
}

@test "build: settings from flags and --config, flags win" {
	cat >"$T/ramp.json" <<-'J'
	{"entrypoint": ["/app/server", "--serve"], "cmd": "--fast", "env": {"MODE": "file", "KEEP": "yes"},
	 "workdir": "/app", "user": "1000:1000", "ports": [8080, "53/udp"], "stop_signal": "SIGQUIT",
	 "labels": {"team": "web"}, "annotations": {"org.example.build": "42"},
	 "health": {"http": {"port": 8080, "path": "/health"}, "interval": "2s", "timeout": "1s",
	            "start_period": "5s", "retries": 3}}
	J
	"$RAMP_BIN" build "$T/app" -o "$T/a.tar" --config "$T/ramp.json" --env MODE=flag --label extra=1
	j=$("$RAMP_BIN" inspect --json "$T/a.tar")
	[ "$(jq -c .config.entrypoint <<<"$j")" = '["/app/server","--serve"]' ]
	[ "$(jq -c .config.cmd <<<"$j")" = '["--fast"]' ]
	[ "$(jq -c .config.env <<<"$j")" = '["KEEP=yes","MODE=flag"]' ]
	[ "$(jq -r .config.user <<<"$j")" = 1000:1000 ]
	[ "$(jq -c .config.ports <<<"$j")" = '["53/udp","8080/tcp"]' ]
	[ "$(jq -r .config.stopSignal <<<"$j")" = SIGQUIT ]
	[ "$(jq -r '.config.labels["io.ramp.health.path"]' <<<"$j")" = /health ]
	[ "$(jq -r '.config.labels["io.ramp.health.port"]' <<<"$j")" = 8080 ]
	[ "$(jq -r '.config.labels["io.ramp.health.interval"]' <<<"$j")" = 2s ]
	[ "$(jq -r '.config.labels.extra' <<<"$j")" = 1 ]
	[ "$(jq -r '.annotations["org.example.build"]' <<<"$j")" = 42 ]
	# an exec health check becomes Docker's Healthcheck, which skopeo shows too
	"$RAMP_BIN" build "$T/app" -o "$T/b.tar" --health-cmd 'test -f /ok' --health-interval 10s --health-retries 2
	j=$("$RAMP_BIN" inspect --json "$T/b.tar")
	[ "$(jq -c .config.healthcheck.test <<<"$j")" = '["CMD-SHELL","test -f /ok"]' ]
	[ "$(jq .config.healthcheck.interval <<<"$j")" = 10000000000 ]
	skopeo inspect --raw --config "oci-archive:$T/b.tar" | jq -e '.config.Healthcheck.Retries == 2'
}

@test "inspect: commands are printed as JSON arrays" {
	"$RAMP_BIN" build "$T/app" -o "$T/a.tar" --entrypoint /bin/sh --cmd '["-c", "echo \"hi\" \\ there"]' \
		--health-cmd 'curl -f http://localhost/'
	out=$("$RAMP_BIN" inspect "$T/a.tar")
	[ "$(sed -n 's/^  cmd *//p' <<<"$out" | jq -c .)" = '["-c","echo \"hi\" \\ there"]' ]
	[ "$(sed -n 's/^  entrypoint *//p' <<<"$out" | jq -r '.[0]')" = /bin/sh ]
	[ "$(sed -n 's/^  health *//p' <<<"$out" | jq -r '.[1]')" = 'curl -f http://localhost/' ]
}

@test "build: zstd and uncompressed layers, with the compressor recorded" {
	for c in zstd none gzip:9; do
		"$RAMP_BIN" build "$T/app" -o "$T/$c.tar" --compression "$c"
		"$RAMP_BIN" inspect --verify "$T/$c.tar"
	done
	[ "$("$RAMP_BIN" inspect --json "$T/zstd.tar" | jq -r '.layers[0].mediaType')" = \
	  application/vnd.oci.image.layer.v1.tar+zstd ]
	[ "$("$RAMP_BIN" inspect --json "$T/zstd.tar" | jq -r '.layers[0].annotations["io.ramp.compression"]')" = zstd:3 ]
	[ "$("$RAMP_BIN" inspect --json "$T/none.tar" | jq -r '.layers[0].mediaType')" = application/vnd.oci.image.layer.v1.tar ]
	[ "$("$RAMP_BIN" inspect --json "$T/gzip:9.tar" | jq -r '.layers[0].annotations["io.ramp.compression"]')" = gzip:9 ]
	# every compression has the same uncompressed content
	[ "$("$RAMP_BIN" inspect --json "$T/zstd.tar" | jq -r '.layers[0].diffId')" = \
	  "$("$RAMP_BIN" inspect --json "$T/none.tar" | jq -r '.layers[0].diffId')" ]
	# the thread count does not change the bytes
	a=$("$RAMP_BIN" build "$T/app" -o "$T/t1.tar" --threads 1)
	b=$("$RAMP_BIN" build "$T/app" -o "$T/t4.tar" --threads 4)
	[ "$a" = "$b" ]
}

@test "build: --layout writes a layout that umoci and skopeo read; --tag names it" {
	d=$("$RAMP_BIN" build "$T/app" --layout "$T/lay" --tag v1)
	[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$T/lay/index.json")" = v1 ]
	skopeo inspect "oci:$T/lay:v1" | jq -e --arg d "$d" '.Digest == $d'
	# a second build with another tag adds to the layout
	"$RAMP_BIN" build "$T/app" --layout "$T/lay" --tag v2 --env X=1
	[ "$(jq '.manifests | length' "$T/lay/index.json")" = 2 ]
	run "$RAMP_BIN" inspect "$T/lay"
	[ "$status" -eq 1 ]
	[[ "$output" == *"more than one image"* ]]
	"$RAMP_BIN" inspect "$T/lay:v2" | grep -q 'X=1'
}

@test "build: sockets are skipped with a warning" {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/app/sock"
	run "$RAMP_BIN" build "$T/app" -o "$T/a.tar" --tag t
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipping socket"*"/app/sock"* ]]
}

@test "inspect --verify names the layer whose content does not match" {
	"$RAMP_BIN" build "$T/app" --layout "$T/lay"
	layer=$("$RAMP_BIN" inspect --json "$T/lay" | jq -r '.layers[0].digest' | cut -d: -f2)
	flip_byte "$T/lay/blobs/sha256/$layer" 100
	run "$RAMP_BIN" inspect --verify "$T/lay"
	[ "$status" -eq 1 ]
	[[ "$output" == *"MISMATCH layer 1 (sha256:$layer): content hashes to"* ]]
	run --separate-stderr "$RAMP_BIN" inspect --verify --json "$T/lay"
	[ "$status" -eq 1 ]
	[ "$(jq .verified <<<"$output")" = false ]
	[ "$(jq -r '.problems[0].what' <<<"$output")" = "layer 1 (sha256:$layer)" ]
}

# ---- bad input: each gives a clear error naming the thing and leaves no output ----

no_output_left() {
	[ ! -e "$T/out.tar" ]
	! ls -A "$T" | grep -q '^\.out\.tar\.tmp' || false
}

@test "bad input: missing directory (usage error naming it)" {
	run "$RAMP_BIN" build "$T/nope" -o "$T/out.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"\"$T/nope\": No such file or directory"* ]]
	no_output_left
}

@test "bad input: a file given instead of a directory" {
	run "$RAMP_BIN" build "$T/app/dir/hello" -o "$T/out.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not a directory"* ]]
}

@test "bad input: unreadable file in the tree" {
	chmod 0600 "$T/app/dir/hello"
	chmod 0777 "$T"
	chmod -R a+rX "$T/app"
	chmod 0600 "$T/app/dir/hello" "$T/app/dir/hardlink"
	mkdir -m 0777 "$T/out"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$RAMP_BIN" build "$T/app" -o "$T/out/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"open \"$T/app/dir/hardlink\": Permission denied"* || "$output" == *"open \"$T/app/dir/hello\": Permission denied"* ]]
	[ -z "$(ls -A "$T/out")" ]
}

@test "bad input: a file that grows while it is read" {
	# ramp is held (strace stops it) after its first read of the file, when it
	# has taken the file's size; the file grows there; no race with the load
	# (LeakSanitizer cannot work under ptrace: off for this run)
	mkdir "$T/grow"
	head -c 65536 /dev/zero >"$T/grow/log"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o "$T/strace" -P "$T/grow/log" -e trace=read -e inject=read:signal=SIGSTOP:when=1 \
		"$RAMP_BIN" build "$T/grow" -o "$T/out.tar" >"$T/grow.out" 2>&1 &
	sp=$!
	rp=
	for _ in $(seq 600); do
		# (its /proc status shows t at every syscall stop too: strace's own word)
		rp=$(pgrep -P "$sp" -x ramp) && grep -qs 'stopped by SIGSTOP' "$T/strace" && break
		rp=
		sleep 0.05
	done
	[ -n "$rp" ] || { kill "$sp"; false; }
	head -c 4096 /dev/zero >>"$T/grow/log"
	kill -CONT "$rp"
	status=0
	wait "$sp" || status=$?
	output=$(cat "$T/grow.out")
	[ "$status" -eq 1 ]
	[[ "$output" == *"\"$T/grow/log\" grew while it was read (it had 65536 bytes)"* ]]
	no_output_left
}

@test "bad input: output directory missing or not writable" {
	run "$RAMP_BIN" build "$T/app" -o "$T/missing/out.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"output directory \"$T/missing\": No such file or directory"* ]]
	mkdir "$T/ro"
	mount -t tmpfs -o ro tmpfs "$T/ro"
	run "$RAMP_BIN" build "$T/app" -o "$T/ro/out.tar"
	umount "$T/ro"
	[ "$status" -eq 2 ]
	[[ "$output" == *"output directory \"$T/ro\" is not writable"* ]]
}

@test "bad input: disk full while writing the archive leaves nothing behind" {
	mkdir "$T/small"
	mount -t tmpfs -o size=256k tmpfs "$T/small"
	head -c 2000000 /dev/urandom >"$T/app/big"
	run "$RAMP_BIN" build "$T/app" -o "$T/small/out.tar"
	left=$(ls -A "$T/small")
	umount "$T/small"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No space left on device"* ]]
	[ -z "$left" ]
}

@test "bad input: disk full while writing layers (scratch space) is reported and cleaned" {
	mkdir "$T/small"
	mount -t tmpfs -o size=256k tmpfs "$T/small"
	head -c 2000000 /dev/urandom >"$T/app/big"
	run env TMPDIR="$T/small" "$RAMP_BIN" build "$T/app" -o "$T/out.tar"
	left=$(ls -A "$T/small")
	umount "$T/small"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No space left on device"* ]]
	[ -z "$left" ]
	no_output_left
}

@test "bad input: invalid flag values are usage errors" {
	for args in "--compression brotli" "--compression gzip:99" "--port 0" "--port 80/icmp" "--env NOEQUALS" \
		"--health-interval soon" "--health-retries 0" "--threads -1" "--stop-signal SIGNOPE" \
		"--workdir relative" "--entrypoint [1,2]" "--health-http 8080" "--unknown-flag"; do
		run "$RAMP_BIN" build $args "$T/app" -o "$T/out.tar"
		[ "$status" -eq 2 ] || { echo "accepted: $args ($status) $output"; false; }
		[ -n "$output" ]
	done
	no_output_left
	run "$RAMP_BIN" build "$T/app"
	[ "$status" -eq 2 ]
	[[ "$output" == *"give an output"* ]]
	echo '{"entrypoint": 5}' >"$T/bad.json"
	run "$RAMP_BIN" build "$T/app" -o "$T/out.tar" --config "$T/bad.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"\"entrypoint\": expected an array of strings or a string"* ]]
	echo '{"entrypint": []}' >"$T/bad.json"
	run "$RAMP_BIN" build "$T/app" -o "$T/out.tar" --config "$T/bad.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown field \"entrypint\""* ]]
}

# A base layout to corrupt in the --from tests.
make_base() {
	"$RAMP_BIN" build "$T/app" --layout "$T/base" >/dev/null
	man=$(jq -r '.manifests[0].digest' "$T/base/index.json" | cut -d: -f2)
}

# Rewrite the manifest with a jq filter and point the index at the new blob.
edit_manifest() {
	local new d
	new=$(jq -c "$1" "$T/base/blobs/sha256/$man")
	printf '%s' "$new" >"$T/m.json"
	d=$(sha256sum "$T/m.json" | cut -d' ' -f1)
	cp "$T/m.json" "$T/base/blobs/sha256/$d"
	jq -c --arg d "sha256:$d" --argjson s "$(stat -c %s "$T/m.json")" \
		'.manifests[0].digest = $d | .manifests[0].size = $s' "$T/base/index.json" >"$T/i.json"
	mv "$T/i.json" "$T/base/index.json"
}

from_fails_with() {
	run "$RAMP_BIN" build --from "$1" "$T/app" -o "$T/out.tar"
	[ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
	[[ "$output" == *"$2"* ]] || { echo "expected '$2' in: $output"; return 1; }
	no_output_left
}

@test "bad --from: truncated archive" {
	"$RAMP_BIN" build "$T/app" -o "$T/base.tar"
	head -c 3000 "$T/base.tar" >"$T/trunc.tar"
	from_fails_with "$T/trunc.tar" "trunc.tar"
}

@test "bad --from: blob whose digest does not match" {
	make_base
	layer=$(jq -r '.layers[0].digest' "$T/base/blobs/sha256/$man" | cut -d: -f2)
	flip_byte "$T/base/blobs/sha256/$layer" 50
	from_fails_with "$T/base" "blob sha256:$layer: content hashes to"
}

@test "bad input: a failed --layout build leaves no layout it created behind" {
	make_base
	layer=$(jq -r '.layers[0].digest' "$T/base/blobs/sha256/$man" | cut -d: -f2)
	flip_byte "$T/base/blobs/sha256/$layer" 50
	# a new directory: gone again
	run "$RAMP_BIN" build --from "$T/base" "$T/app" --layout "$T/new"
	[ "$status" -eq 1 ]
	[[ "$output" == *"content hashes to"* ]]
	[ ! -e "$T/new" ]
	# an empty directory: stays, empty
	mkdir "$T/empty-dir"
	run "$RAMP_BIN" build --from "$T/base" "$T/app" --layout "$T/empty-dir"
	[ "$status" -eq 1 ]
	[ -d "$T/empty-dir" ] && [ -z "$(ls -A "$T/empty-dir")" ]
	# an existing layout: its index is untouched
	"$RAMP_BIN" build "$T/app/dir" --layout "$T/old" --tag keep >/dev/null
	cp "$T/old/index.json" "$T/index.before"
	run "$RAMP_BIN" build --from "$T/base" "$T/app" --layout "$T/old" --tag keep
	[ "$status" -eq 1 ]
	cmp "$T/index.before" "$T/old/index.json"
	[ -f "$T/old/oci-layout" ]
}

@test "bad --from: invalid JSON" {
	make_base
	printf '{"schemaVersion": 2, "manifests": [' >"$T/base/index.json"
	from_fails_with "$T/base" "invalid JSON"
}

@test "bad --from: missing blob" {
	make_base
	layer=$(jq -r '.layers[0].digest' "$T/base/blobs/sha256/$man" | cut -d: -f2)
	rm "$T/base/blobs/sha256/$layer"
	from_fails_with "$T/base" "blob sha256:$layer is missing"
}

@test "bad --from: unknown media type" {
	make_base
	edit_manifest '.layers[0].mediaType = "application/x-evil"'
	from_fails_with "$T/base" 'unknown media type "application/x-evil"'
}

@test "bad --from: negative size" {
	make_base
	edit_manifest '.layers[0].size = -5'
	from_fails_with "$T/base" "negative size -5"
}

@test "bad --from: digest with path characters" {
	make_base
	edit_manifest '.layers[0].digest = "sha256:../../../../etc/passwd"'
	from_fails_with "$T/base" 'invalid digest "sha256:../../../../etc/passwd"'
	jq '.manifests[0].digest = "sha256:/etc/shadow"' "$T/base/index.json" >"$T/i.json" && mv "$T/i.json" "$T/base/index.json"
	from_fails_with "$T/base" 'invalid digest'
}

@test "bad --from: archive entries that climb out are refused" {
	make_base
	mkdir -p "$T/evil/x"
	cp -a "$T/base/." "$T/evil/x/"
	(cd "$T/evil/x" && tar --absolute-names -cf "$T/evil.tar" oci-layout index.json blobs ../../escaped 2>/dev/null || true)
	printf 'owned' >"$T/evil/escaped"
	(cd "$T/evil/x" && tar -cf "$T/evil.tar" oci-layout index.json blobs -C "$T/evil/x" --transform 's|^oci-layout$|../../oci-layout|' oci-layout)
	from_fails_with "$T/evil.tar" 'climbs out with ".."'
}
