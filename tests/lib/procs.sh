# tests/lib/procs.sh: finding the container processes ramp started (sourced
# by the demo and the rampd tests).

# app_pids DIR: the processes rampd or ramp run started (RAMP_INSTANCE in
# their environment) whose root is an overlay with its upper dir under DIR
app_pids() {
	local f p
	for f in $(grep -lsz '^RAMP_INSTANCE=' /proc/[0-9]*/environ); do
		p=${f#/proc/}
		p=${p%/environ}
		grep -qs "upperdir=$1/" "/proc/$p/mountinfo" && echo "$p"
	done
	return 0
}
