# fish completion for storagegrid (urfave/cli protocol: the binary answers
# with --generate-bash-completion last)
function __storagegrid_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        $words $cur --generate-bash-completion 2>/dev/null
    else
        $words --generate-bash-completion 2>/dev/null
    end
end
complete -c storagegrid -f -a '(__storagegrid_complete)'
