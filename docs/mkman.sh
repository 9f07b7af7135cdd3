#!/usr/bin/env bash
# docs/mkman.sh RAMP RAMPD OUTDIR: writes ramp.1 and rampd.8 from the
# programs' own --help texts, the one source of truth for usage, so the man
# pages cannot drift from the commands.
set -euo pipefail
ramp=$1 rampd=$2 out=$3
mkdir -p "$out"
version=$("$ramp" --version | awk '{print $2}')
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%d 2>/dev/null || echo 1970-01-01)

# troff-escape a --help text into a no-fill block
block() {
	printf '.nf\n'
	sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
	printf '.fi\n'
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
	printf '.SH EXIT STATUS\n0 success; 1 failure (nothing partial is left behind); 2 usage error.\n'
	printf '.SH SEE ALSO\n.BR rampd (8)\n'
} >"$out/ramp.1"

{
	printf '.TH RAMPD 8 "%s" "ramp %s" "System Administration"\n' "$date" "$version"
	printf '.SH NAME\nrampd \\- the ramp host daemon\n'
	printf '.SH SYNOPSIS\n.B rampd\n[OPTIONS]\n'
	printf '.SH DESCRIPTION\n'
	"$rampd" --help | block
	printf '.SH SEE ALSO\n.BR ramp (1)\n'
} >"$out/rampd.8"
