# bash completion for ramp and rampd: verbs, sub-commands and options, read
# from the programs' own --help texts (so completion never drifts from the
# commands); values where an option takes one of a few words; files otherwise.
# Installed by `make install` to $(PREFIX)/share/bash-completion/completions/
# as ramp and as rampd.

# the options a --help text names ("-c" of "sh -c;" is not one)
_ramp_opts() {
	"$@" --help 2>/dev/null | grep -oE -- '(^|[ ,[(|])--?[a-z][a-z0-9-]*(=false)?([] ,|)]|$)' |
		grep -oE -- '--?[a-z][a-z0-9-]*(=false)?' | sort -u
}

# values of options that take a word from a list; 0 when it completed something
_ramp_values() {
	local prev=$1 cur=$2 words=""
	case $prev in
	--compression) words="gzip zstd none gzip:1 gzip:9 zstd:3 zstd:19" ;;
	--net) words="host private" ;;
	--on-failure) words="revert pause" ;;
	--on-inconclusive) words="pause fail pass" ;;
	--stop-signal) words="SIGTERM SIGINT SIGQUIT SIGHUP SIGUSR1 SIGUSR2 SIGKILL" ;;
	-o | --output | --layout | --config | --fleet | --token-file | --cacert | --from | --state-dir | --store | --html | \
		--socket | --sign-key | --trust | --policy)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	*) return 1 ;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	return 0
}

_ramp() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} verb="" sub="" i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-*) ;;
		*)
			if [ -z "$verb" ]; then verb=$w
			elif [ -z "$sub" ]; then sub=$w
			fi
			;;
		esac
	done
	if [ -z "$verb" ]; then
		local verbs
		verbs=$(ramp --help 2>/dev/null | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}')
		COMPREPLY=($(compgen -W "$verbs help -q -v --quiet --verbose --version --help" -- "$cur"))
		return
	fi
	_ramp_values "$prev" "$cur" && return
	# verbs with sub-commands: the words of their usage lines
	local subs=""
	case $verb in
	host) subs="status deploy revert logs rm" ;;
	rollout) subs="list show" ;;
	fleet) subs="status" ;;
	key) subs="generate" ;;
	help) COMPREPLY=($(compgen -W "$(ramp --help 2>/dev/null | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}')" -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ramp_opts ramp "$verb")" -- "$cur"))
		return
	fi
	if [ -n "$subs" ] && [ -z "$sub" ]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}

_rampd() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	_ramp_values "$prev" "$cur" && return
	COMPREPLY=($(compgen -W "$(_ramp_opts rampd)" -- "$cur"))
}

complete -o filenames -F _ramp ramp
complete -o filenames -F _rampd rampd
