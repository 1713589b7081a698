//go:build !agentonly

package main

import (
	_ "embed"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// bashCompletion is urfave/cli's completion protocol: the shell calls
// the binary with --generate-bash-completion last and offers what it
// prints.
//
//go:embed completion.bash
var bashCompletion string

//go:embed completion.zsh
var zshCompletion string

//go:embed completion.fish
var fishCompletion string

func init() {
	register(80, completionCommand)
	register(81, manCommand)
}

func completionCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: "Install once per host, for example:\n" +
			"   storagegrid completion bash > /etc/bash_completion.d/storagegrid\n" +
			"   storagegrid completion zsh > /usr/local/share/zsh/site-functions/_storagegrid\n" +
			"   storagegrid completion fish > /etc/fish/completions/storagegrid.fish",
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				g.printf("%s", bashCompletion)
			case "zsh":
				g.printf("%s", zshCompletion)
			case "fish":
				g.printf("%s", fishCompletion)
			default:
				return fail.Usagef("completion needs a shell: bash, zsh or fish")
			}
			return nil
		},
	}
}

func manCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print the manual page (roff)",
		Description: "Read it with: storagegrid man | man -l -\nInstall it with: storagegrid man > /usr/local/share/man/man8/storagegrid.8",
		Action: func(c *cli.Context) error {
			g.printf("%s", manPage(c.App))
			return nil
		},
	}
}
