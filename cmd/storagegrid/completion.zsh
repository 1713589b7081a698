#compdef storagegrid
# zsh completion for storagegrid (urfave/cli protocol)
_storagegrid() {
  local -a opts
  local current=${words[CURRENT]}
  if [[ "$current" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} $current --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  [[ "${opts[1]}" != "" ]] && _describe 'values' opts || _files
}
compdef _storagegrid storagegrid
