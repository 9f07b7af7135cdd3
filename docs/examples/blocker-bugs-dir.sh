#!/bin/sh
# blocker-bugs-dir.sh: a blocker for a ramp release policy (docs/ROLLOUT.md,
# "Release policy") that reads a bugs/ directory kept in the repository: one
# file per bug, with header lines such as
#
#   title: checkout loses the cart on retry
#   severity: blocker
#   status: open
#
#   usage: blocker-bugs-dir.sh [DIR]   (default: bugs)
#
# A bug blocks a release while it has "severity: blocker" and "status: open".
# Exit 0: none (clear); 1: some, listed on stdout (ramp shows that as the
# reason); 2: DIR is not a directory (an error: it blocks too).
#
# In the policy file:
#   {"blockers": [{"name": "bugs-dir", "command": "docs/examples/blocker-bugs-dir.sh bugs"}]}
set -u
dir=${1:-bugs}
[ -d "$dir" ] || { echo "blocker-bugs-dir.sh: no directory $dir" >&2; exit 2; }
found=
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	grep -qi '^severity: *blocker *$' "$f" && grep -qi '^status: *open *$' "$f" || continue
	title=$(sed -n 's/^[Tt]itle: *//p' "$f" | head -n 1)
	found="$found
$(basename "$f"): ${title:-(no title)}"
done
[ -z "$found" ] && exit 0
printf 'open release blockers in %s:%s\n' "$dir" "$found"
exit 1
