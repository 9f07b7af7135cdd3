# html_helpers.bash: pages opened in headless Chromium (tests/lib/browser.py)
# and what the browser saw of them, for html_report.bats and
# rollout_canary.bats. HTML_DIR holds the findings: shots/ (screenshots,
# light and dark), dom/ (each page's DOM as loaded) and browser.json.

browser() { python3 "$BATS_TEST_DIRNAME/../lib/browser.py" "$@"; }

# open_pages [browser.py options] PAGE...: one browser for all, into HTML_DIR;
# the screenshots are of the whole page when they are kept (keep_shots)
open_pages() {
	mkdir -p "$HTML_DIR/shots" "$HTML_DIR/dom"
	browser --shots "$HTML_DIR/shots" ${RAMP_SHOTS_DIR:+--full-page} --dom "$HTML_DIR/dom" --count script "$@" \
		>"$HTML_DIR/browser.json"
}

# page NAME JQ: the browser's findings about NAME.html
page() { jq -r --arg p "$1.html" ".[\$p] | $2" "$HTML_DIR/browser.json"; }
count() { page "$1" ".counts[\"$2\"]"; }
text() { page "$1" ".texts[\"$2\"]"; }
dom() { cat "$HTML_DIR/dom/$1.html.dom"; }

# no console message of any level, no script, and screenshots taken
clean() {
	[ "$(page "$1" '.console | length')" = 0 ] || { page "$1" .console >&2; return 1; }
	[ "$(count "$1" script)" = 0 ]
	[ -s "$HTML_DIR/shots/$1.html.png" ]
	[ -s "$HTML_DIR/shots/$1.html-dark.png" ]
}

# keep_shots: the screenshots copied to RAMP_SHOTS_DIR when it is set (how
# docs/img/rollout-report.png and rollout-canary-report.png are made,
# docs/ROLLOUT.md)
keep_shots() {
	[ -z "${RAMP_SHOTS_DIR:-}" ] || cp "$HTML_DIR"/shots/*.png "$RAMP_SHOTS_DIR/"
}
