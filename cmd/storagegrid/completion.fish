# fish completion for storagegrid: the binary answers with the words before
# the cursor, the current one (perhaps empty) and --generate-bash-completion;
# an empty answer means the argument is a file, which fish completes.
function __storagegrid_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l out ($words "$cur" --generate-bash-completion 2>/dev/null)
    if test (count $out) -gt 0
        printf '%s\n' $out
    else
        __fish_complete_path $cur
    end
end
complete -c storagegrid -f -a '(__storagegrid_complete)'
