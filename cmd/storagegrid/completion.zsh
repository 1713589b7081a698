#compdef storagegrid
# zsh completion for storagegrid: the binary answers with the words before
# the cursor, the current one (perhaps empty) and --generate-bash-completion;
# an empty answer means the argument is a file.
_storagegrid() {
  local -a opts
  opts=("${(@f)$("${(@)words[1,CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  [[ "${opts[1]}" != "" ]] && _describe 'values' opts || _files
}
compdef _storagegrid storagegrid
