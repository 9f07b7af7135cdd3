#!/bin/sh
# blocker-issues-http.sh: a blocker for a ramp release policy (docs/ROLLOUT.md,
# "Release policy") that asks an issue tracker over HTTP for open issues
# labelled as release blockers.
#
#   usage: blocker-issues-http.sh URL
#
# URL answers a JSON list of issues, as GitHub's and GitLab's issue APIs do:
#   https://api.github.com/repos/OWNER/REPO/issues?labels=release-blocker&state=open
#   https://gitlab.example.com/api/v4/projects/ID/issues?labels=release-blocker&state=opened
# $ISSUES_TOKEN, when set, is sent as a bearer token. Pull requests (GitHub
# lists them as issues too) and closed issues do not count.
#
# Exit 0: none open (clear); 1: some are open, listed on stdout (ramp shows
# that as the reason); 2: the tracker could not be asked (ramp treats every
# status but 0 and 1 as an error that blocks: a tracker that is down blocks).
#
# In the policy file:
#   {"blockers": [{"name": "release-blockers", "timeout": 30,
#     "command": "docs/examples/blocker-issues-http.sh 'https://api.github.com/repos/OWNER/REPO/issues?labels=release-blocker&state=open'"}]}
set -u
url=${1:?usage: blocker-issues-http.sh URL}
if [ -n "${ISSUES_TOKEN:-}" ]; then
	body=$(curl -fsS --max-time 20 -H 'Accept: application/json' -H "Authorization: Bearer $ISSUES_TOKEN" "$url") || exit 2
else
	body=$(curl -fsS --max-time 20 -H 'Accept: application/json' "$url") || exit 2
fi
open=$(printf '%s' "$body" | jq -r '
	if type != "array" then error("not a list of issues") else . end
	| .[] | select(.pull_request == null) | select((.state // "open") | test("^open(ed)?$"))
	| "#\(.number // .iid) \(.title)"') || exit 2
[ -z "$open" ] && exit 0
printf 'open release blockers:\n%s\n' "$open"
exit 1
