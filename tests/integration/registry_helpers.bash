# registry_helpers.bash: a real registry (Debian's docker-registry) for the
# registry tests, on 127.0.0.1 and a free port, in a temp dir; always stopped
# by reg_teardown. Optional Basic (htpasswd) or token auth (tests/helpers/tokenserver.py).

: "${RAMP_BIN:?run the tests through make check}"
MKIMAGE="$RAMP_HELPERS/mkimage"
IMGCHECK="$RAMP_HELPERS/imgcheck"
FIXTURES="$BATS_TEST_DIRNAME/../helpers"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

reg_setup() {
	T=$(mktemp -d /tmp/ramp-reg-XXXXXX)
	export HOME="$T/home" XDG_CACHE_HOME="$T/cache" XDG_RUNTIME_DIR="$T/run"
	mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
	unset REGISTRY_AUTH_FILE DOCKER_CONFIG
	export RAMP_REGISTRY_BACKOFF_MS=50
	PIDS=()
}

reg_teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${T:-}" ] && rm -rf "$T"
}

# wait until URL answers (any HTTP status); more curl options may follow
wait_http() {
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$@" && return 0
		sleep 0.05
	done
	echo "not up: $1" >&2
	return 1
}

# start_registry NAME [auth yaml] [http tls yaml]: sets REG (host:port) and REGDIR
start_registry() {
	local port
	port=$(free_port)
	REGDIR="$T/$1"
	mkdir -p "$REGDIR"
	cat >"$REGDIR/config.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $REGDIR/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port${3:+, $3}}
${2:-}
EOC
	docker-registry serve "$REGDIR/config.yml" >"$REGDIR/log" 2>&1 &
	PIDS+=($!)
	REG=127.0.0.1:$port
	if [ -n "${3:-}" ]; then wait_http "https://$REG/v2/" -k; else wait_http "http://$REG/v2/"; fi
}

# start_fixture NAME ARGS...: the python fixture registry; sets FIX (host:port)
start_fixture() {
	local port name=$1
	shift
	port=$(free_port)
	python3 "$FIXTURES/fakeregistry.py" --port "$port" --log "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
	PIDS+=($!)
	FIX=127.0.0.1:$port
	wait_http "http://$FIX/v2/"
}

# JSON field of skopeo inspect
skopeo_digest() {
	skopeo inspect --tls-verify=false --raw "docker://$1" >/dev/null &&
		skopeo inspect --tls-verify=false "docker://$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}

# start_tls_registry: HTTPS with a self-signed certificate for 127.0.0.1 ($T/tls.pem)
start_tls_registry() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.pem" -days 1 \
		-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	start_registry tls "" "tls: {certificate: $T/tls.pem, key: $T/tls.key}"
}

# start_basic_registry: htpasswd Basic auth, user "ramp" password "s3cret"
start_basic_registry() {
	htpasswd -Bbn ramp s3cret >"$T/htpasswd"
	start_registry basic "auth: {htpasswd: {realm: ramp-test, path: $T/htpasswd}}"
}

# start_token_registry [tokenserver args]: token auth, the token server of tests/helpers
start_token_registry() {
	local tport
	tport=$(free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
		-subj /CN=ramp-token 2>/dev/null
	python3 "$FIXTURES/tokenserver.py" --port "$tport" --key "$T/key.pem" --cert "$T/cert.pem" \
		--issuer ramp-issuer --service ramp-test --user ramp --password s3cret --log "$T/token.log" "$@" \
		>"$T/token.out" 2>&1 &
	PIDS+=($!)
	TOKEN=127.0.0.1:$tport
	wait_http "http://$TOKEN/ready"
	start_registry token "auth: {token: {realm: \"http://$TOKEN/token\", service: ramp-test, issuer: ramp-issuer, rootcertbundle: $T/cert.pem}}"
}
