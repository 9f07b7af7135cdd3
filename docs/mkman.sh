#!/usr/bin/env bash
# docs/mkman.sh RAMP RAMPD OUTDIR: writes ramp.1 and rampd.8 from the
# programs' own --help texts, the one source of truth for usage, so the man
# pages cannot drift from the commands. Only what --help does not say (files,
# environment, exit status, examples) is written here.
set -euo pipefail
ramp=$1 rampd=$2 out=$3
mkdir -p "$out"
version=$("$ramp" --version | awk '{print $2}')
# the date of the sources (reproducible): SOURCE_DATE_EPOCH, else the last commit's
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
	date=$(git -C "$(dirname "$0")" log -1 --format=%cs 2>/dev/null || true)
fi

# troff-escape a --help text into a no-fill block
block() {
	printf '.nf\n'
	sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
	printf '.fi\n'
}
# a .TP list from "TAG<TAB>text" lines
tp() {
	while IFS=$'\t' read -r tag text; do
		printf '.TP\n.B %s\n%s\n' "$tag" "$text"
	done
}

{
	printf '.TH RAMP 1 "%s" "ramp %s" "User Commands"\n' "$date" "$version"
	printf '.SH NAME\nramp \\- build, test, ship and roll out OCI images host by host\n'
	printf '.SH SYNOPSIS\n.B ramp\n[\\-q|\\-v] COMMAND [ARGS]\n'
	printf '.SH DESCRIPTION\n'
	"$ramp" --help | block
	for verb in $("$ramp" --help | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}'); do
		printf '.SH "ramp %s"\n' "$verb"
		"$ramp" "$verb" --help | block
	done
	printf '.SH EXIT STATUS\n'
	tp <<'EOF'
0	success
1	failure, said on stderr; nothing partial is left behind. ramp rollout: rolled back (every converted host was put back). ramp fleet status: a host did not answer.
2	usage error; for ramp rollout and ramp revert also a refusal before anything was changed
3	ramp rollout and ramp revert: the fleet needs attention (a revert could not finish; a rollout paused, interrupted or superseded)
EOF
	printf '.PP\nramp run and ramp test exit with the container'"'"'s status (128+N when it was killed by signal N).\n'
	printf '.SH ENVIRONMENT\n'
	tp <<'EOF'
SOURCE_DATE_EPOCH	ramp build: clamps file times and sets the image's creation time
REGISTRY_AUTH_FILE	registry credentials (auth.json), before $XDG_RUNTIME_DIR/containers/auth.json and ~/.docker/config.json
RAMP_REGISTRY_TIMEOUT, RAMP_REGISTRY_RETRIES	defaults of --timeout and --retries of the registry commands
RAMP_STORE	ramp run and ramp test: where images are unpacked (default /var/cache/ramp)
XDG_STATE_HOME	ramp rollout: journals and locks in $XDG_STATE_HOME/ramp (else ./.ramp)
EOF
	printf '.SH EXAMPLES\n'
	block <<'EOF'
ramp build app -o app.oci.tar --entrypoint /srv/run --port 8080 --health-http 8080/health
sudo ramp test app.oci.tar -- /srv/run-tests
ramp push app.oci.tar registry.example.com/web:1.0        # prints the digest
ramp rollout --app web --image registry.example.com/web@sha256:... \
    --fleet prod.fleet --token-file token --bake 2m
ramp fleet status --fleet prod.fleet --token-file token
ramp revert --app web --fleet prod.fleet --token-file token
EOF
	printf '.SH SEE ALSO\n.BR rampd (8);\nREADME.md and docs/ (ROLLOUT.md, IMAGE.md, REGISTRY.md, API.md) in the sources\n'
} >"$out/ramp.1"

{
	printf '.TH RAMPD 8 "%s" "ramp %s" "System Administration"\n' "$date" "$version"
	printf '.SH NAME\nrampd \\- the ramp host daemon\n'
	printf '.SH SYNOPSIS\n.B rampd\n[OPTIONS]\n'
	printf '.SH DESCRIPTION\n'
	"$rampd" --help | block
	printf '.SH FILES\n'
	tp <<'EOF'
/etc/ramp/rampd.json	the configuration (JSON, read strictly; {} is valid)
/var/lib/ramp	the store (state_dir): verified blobs, unpacked layers, each app's state and logs
/run/ramp/rampd.sock	the API's unix socket (socket), root only
rampd-pull	the pull helper, started for each pull from the directory rampd's executable is in
rampd.service	the systemd unit (runtime/rampd/rampd.service in the sources)
EOF
	printf '.SH EXIT STATUS\n0 stopped by a signal (or a valid configuration with \\-\\-check\\-config);\n'
	printf '1 an error (a bad configuration, a store in use); 2 usage error.\n'
	printf '.SH SEE ALSO\n.BR ramp (1);\ndocs/OPERATIONS.md and docs/API.md in the sources\n'
} >"$out/rampd.8"
