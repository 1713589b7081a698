# bash completion for storagegrid: the binary answers with the words
# before the cursor, the current one (perhaps empty) and
# --generate-bash-completion; an empty answer leaves bash's file completion.
_storagegrid() {
  local cur words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n "=:" || return
  else
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local request=("${words[@]:0:$cword}" "$cur")
  local opts
  opts=$("${request[0]}" "${request[@]:1}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _storagegrid storagegrid
