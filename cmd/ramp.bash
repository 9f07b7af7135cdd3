# bash completion for ramp: commands and their options, read from ramp's own
# --help texts (so completion never drifts from the commands); files otherwise.
# Installed by `make install` to $(PREFIX)/share/bash-completion/completions/ramp.

_ramp() {
	local cur=${COMP_WORDS[COMP_CWORD]} verb="" i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) verb=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$verb" ]; then
		local verbs
		verbs=$(ramp --help 2>/dev/null | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}')
		COMPREPLY=($(compgen -W "$verbs -q -v --quiet --verbose --version --help" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		local opts
		opts=$(ramp "$verb" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _ramp ramp
