package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
)

// Target runs storagegrid on the host a node migrates to: Command is the
// argv that starts storagegrid there, and each call appends its own
// arguments. Nothing goes through a local shell.
type Target struct {
	Host    string
	Command []string
}

// DefaultTargetCommand is how migrate reaches a host: ssh without
// prompts, storagegrid under sudo.
func DefaultTargetCommand(host string) []string {
	return []string{"ssh", "-o", "BatchMode=yes", host, "sudo", "storagegrid"}
}

// safeHost keeps a host name from being read as an ssh option.
var safeHost = regexp.MustCompile(`^[A-Za-z0-9_.@:\[\]][A-Za-z0-9_.@:\[\]-]*$`)

// safeArg is what an argument to the target may contain: ssh joins its
// arguments into one line that the remote shell splits again, so anything
// a shell would interpret is refused rather than quoted for one transport
// and wrong for another.
var safeArg = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// NewTarget checks host and command and returns the target; an empty
// command means DefaultTargetCommand.
func NewTarget(host string, command []string) (Target, error) {
	if !safeHost.MatchString(host) {
		return Target{}, fmt.Errorf("target host %q: use a host name or address (letters, digits, '.', '-', ':', '@'; not starting with '-')", host)
	}
	if len(command) == 0 {
		command = DefaultTargetCommand(host)
	}
	return Target{Host: host, Command: command}, nil
}

// RemoteError is a storagegrid command that failed on the target.
type RemoteError struct {
	Host string
	Args []string
	Code int // exit status; -1 when it did not run or was killed
	Err  error
}

func (e *RemoteError) Error() string {
	cmd := "storagegrid " + strings.Join(e.Args, " ")
	if e.Code >= 0 {
		return fmt.Sprintf("on %s: '%s' exited with status %d", e.Host, cmd, e.Code)
	}
	return fmt.Sprintf("on %s: '%s': %v", e.Host, cmd, e.Err)
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Run runs storagegrid args on the target with stdin as its input,
// passing its output to stdout and stderr as it comes.
func (t Target) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args ...string) error {
	for _, a := range args {
		if !safeArg.MatchString(a) {
			return fmt.Errorf("on %s: argument %q cannot be passed safely to the target command "+
				"(only letters, digits and _./:=@%%+,- are allowed)", t.Host, a)
		}
	}
	argv := append(append([]string{}, t.Command...), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	re := &RemoteError{Host: t.Host, Args: args, Code: -1, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		re.Code = ee.ExitCode()
	}
	return re
}

// SplitCommand splits a command line into words the way a POSIX shell
// does, without expanding anything: blanks separate words, '...' quotes
// literally, "..." quotes with \ escaping \ " $ and `, and \ outside
// quotes escapes the next character.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
			continue
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("command %q ends with a lone backslash", s)
			}
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("command %q: unterminated single quote", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			n, err := doubleQuoted(s, i+1, &w)
			if err != nil {
				return nil, err
			}
			i = n
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// doubleQuoted copies the body of a "..." starting at i into w and
// returns the index of the closing quote.
func doubleQuoted(s string, i int, w *strings.Builder) (int, error) {
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0:
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
			}
		default:
			w.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("command %q: unterminated double quote", s)
}

// JoinCommand spells argv as one shell command line that SplitCommand
// (and a POSIX shell) splits back into the same words: words with
// anything a shell would interpret are single-quoted.
func JoinCommand(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if safeArg.MatchString(a) { // a word a shell reads as itself
			words[i] = a
			continue
		}
		words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}
