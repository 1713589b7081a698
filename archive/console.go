package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"
)

// ConsoleOptions says where the ADE console is and how patient to be.
type ConsoleOptions struct {
	Addr           string         // host:port, 127.0.0.1:1409 on an Archive Node
	Prompt         *regexp.Regexp // matches the prompt line, e.g. "ade 13959984: /proc/BRTR > "
	ConnectTimeout time.Duration  // dial plus the first prompt
	CommandTimeout time.Duration  // one command until the next prompt
}

// maxReply bounds what we buffer while waiting for a prompt, so a console
// spewing garbage cannot eat the host's memory.
const maxReply = 1 << 20

// Console is one session with an ADE console. It is not safe for
// concurrent use. After any error the session is unusable (a late reply
// could be mistaken for the next command's), so Run fails until the caller
// dials again.
type Console struct {
	opts   ConsoleOptions
	conn   net.Conn
	filter telnetFilter
	banner string
	broken error
}

// ConsoleError reports a failed exchange with the console: what was sent,
// whether it went out completely, and what came back.
type ConsoleError struct {
	Addr     string
	Command  string // empty while connecting
	Sent     bool   // the whole command line was written: the console may have acted on it
	Received string // what came back (telnet commands removed), possibly long
	Err      error
}

func (e *ConsoleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ADE console %s: ", e.Addr)
	if e.Command == "" {
		b.WriteString("connecting: ")
	} else {
		fmt.Fprintf(&b, "sent %q: ", e.Command)
	}
	b.WriteString(e.Err.Error())
	if e.Received != "" {
		fmt.Fprintf(&b, "; received %s", clip(e.Received))
	} else if e.Command != "" || !isDialError(e.Err) {
		b.WriteString("; received nothing")
	}
	return b.String()
}

func (e *ConsoleError) Unwrap() error { return e.Err }

// OutcomeUnknown reports whether err means a command reached the console
// but its reply did not come back: it may or may not have taken effect.
func OutcomeUnknown(err error) bool {
	var ce *ConsoleError
	return errors.As(err, &ce) && ce.Sent
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// clip quotes s for an error message, keeping its start and end when it
// is long: the start shows what kind of garbage it was, the end where it
// stopped.
func clip(s string) string {
	const keep = 120
	if len(s) <= 2*keep+40 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q ...(%d bytes)... %q", s[:keep], len(s)-2*keep, s[len(s)-keep:])
}

// Dial connects and waits for the first prompt.
func Dial(ctx context.Context, opts ConsoleOptions) (*Console, error) {
	if opts.Prompt == nil {
		return nil, errors.New("ADE console: no prompt pattern")
	}
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, &ConsoleError{Addr: opts.Addr, Err: err}
	}
	c := &Console{opts: opts, conn: conn}
	defer c.watch(ctx)()
	banner, err := c.readPrompt()
	if err != nil {
		conn.Close()
		return nil, &ConsoleError{Addr: opts.Addr, Received: banner, Err: c.explain(ctx, err, opts.ConnectTimeout)}
	}
	c.banner = banner
	return c, nil
}

// Banner is what the console printed before its first prompt.
func (c *Console) Banner() string { return c.banner }

// Run sends one command line and returns the reply up to the next prompt,
// without the echoed command and with line ends normalised.
func (c *Console) Run(ctx context.Context, command string) (string, error) {
	if c.broken != nil {
		return "", &ConsoleError{Addr: c.opts.Addr, Command: command, Err: fmt.Errorf("session unusable after an earlier error: %w", c.broken)}
	}
	if strings.ContainsAny(command, "\r\n\x00\xff") {
		return "", fmt.Errorf("ADE console: refusing to send %q: control characters", command)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.CommandTimeout)
	defer cancel()
	defer c.watch(ctx)()
	line := command + "\r\n"
	n, err := c.conn.Write([]byte(line))
	if err != nil {
		c.broken = err
		return "", &ConsoleError{Addr: c.opts.Addr, Command: command, Sent: n == len(line), Err: c.explain(ctx, err, c.opts.CommandTimeout)}
	}
	reply, err := c.readPrompt()
	if err != nil {
		c.broken = err
		return "", &ConsoleError{Addr: c.opts.Addr, Command: command, Sent: true, Received: reply, Err: c.explain(ctx, err, c.opts.CommandTimeout)}
	}
	return cleanReply(reply, command), nil
}

// Close says goodbye as the runbook does ("exit") and hangs up.
func (c *Console) Close() error {
	if c.broken == nil {
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.conn.Write([]byte("exit\r\n"))
	}
	return c.conn.Close()
}

// watch makes blocked reads and writes return when ctx ends. The deadline
// is cleared first because a previous watch may have fired just as its
// exchange completed.
func (c *Console) watch(ctx context.Context) (stop func() bool) {
	c.conn.SetDeadline(time.Time{})
	return context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
}

// readPrompt reads until the received text ends with a prompt line and
// returns the text before it. On error it returns what it had so far.
func (c *Console) readPrompt() (string, error) {
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			data, reply := c.filter.feed(buf[:n])
			if len(reply) > 0 {
				if _, werr := c.conn.Write(reply); werr != nil {
					return string(got), fmt.Errorf("refusing telnet options: %w", werr)
				}
			}
			got = append(got, data...)
			if before, ok := splitPrompt(string(got), c.opts.Prompt); ok {
				return before, nil
			}
			if len(got) > maxReply {
				return string(got), fmt.Errorf("no prompt in %d bytes", len(got))
			}
		}
		if err != nil {
			return string(got), err
		}
	}
}

// explain turns low-level read errors into what the operator needs to
// know: a timeout names its limit, EOF says the console hung up.
func (c *Console) explain(ctx context.Context, err error, limit time.Duration) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no prompt within %s", limit)
	case errors.Is(err, io.EOF):
		return errors.New("connection closed by the console before the prompt")
	}
	return err
}

// splitPrompt reports whether text ends with a prompt line and returns
// the text before that line.
func splitPrompt(text string, prompt *regexp.Regexp) (string, bool) {
	trimmed := strings.TrimRight(text, " \t\r\n")
	start := strings.LastIndexByte(trimmed, '\n') + 1
	if trimmed == "" || !prompt.MatchString(text[start:]) {
		return "", false
	}
	return text[:start], true
}

// cleanReply normalises line ends and drops the command's echo, if the
// console sent one.
func cleanReply(reply, command string) string {
	reply = strings.ReplaceAll(reply, "\r\n", "\n")
	reply = strings.ReplaceAll(reply, "\r", "")
	first, rest, _ := strings.Cut(reply, "\n")
	if strings.TrimSpace(first) == command {
		reply = rest
	}
	return strings.TrimSpace(reply)
}
