#!/usr/bin/env bats
# security_catalogue.bats: every test that docs/SECURITY.md's hostile-input
# catalogue names as proof exists (tests/lib/check_catalogue.py), so the
# catalogue cannot silently point at renamed or removed tests; and no bats
# test negates a command in a way that can never fail it.

@test "security catalogue: every test named as proof exists" {
	run python3 "$BATS_TEST_DIRNAME/../lib/check_catalogue.py" "$BATS_TEST_DIRNAME/../.."
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *" 0 missing"* ]]
	# at least the 60 cases issue 8 asks for
	rows=$(sed -n 's/^\([0-9]*\) catalogue rows.*/\1/p' <<<"$output")
	[ "$rows" -ge 60 ]
}

# negated LINES...: the lines of bats tests that negate a command but cannot
# fail their test: bash's -e ignores a command preceded by `!`, so `! grep x f`
# in the middle of a test asserts nothing unless it ends with `|| false`
negated() {
	grep -nE '^\s+! ' "$@" | grep -vE '\|\| (false|\{)|\\$' || true
}

@test "tests: every negated command in a bats test can fail it (ends in || false)" {
	printf '@test "x" {\n\t! grep -q a f\n\ttrue\n}\n' >"$BATS_TEST_TMPDIR/bad.bats"
	[ -n "$(negated "$BATS_TEST_TMPDIR/bad.bats")" ] # the check sees one
	bad=$(negated "$BATS_TEST_DIRNAME"/*.bats "$BATS_TEST_DIRNAME"/*.bash)
	echo "$bad"
	[ -z "$bad" ]
}
