package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/storagegrid/storagegrid/nodekey"
)

// maxConfigSize bounds what ParseConfig reads: a node config is a few
// dozen lines, so anything larger is not a node config.
const maxConfigSize = 1 << 20

// Config is one node configuration file: `KEY = VALUE` lines, blank lines
// and `#` comments. It keeps every line as written, so that rewriting a
// file after Set changes only the lines that were set, and keys this tool
// does not know survive.
type Config struct {
	file  string
	lines []line
	index map[string]int // key -> position in lines
}

// line is one line of a config file, with its terminator.
type line struct {
	raw   string // exactly as read, including "\n" when present
	key   string // "" for blank and comment lines
	value string
}

// ParseError reports a malformed line, as file:line: message.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// NewConfig returns an empty config that will be reported as file.
func NewConfig(file string) *Config {
	return &Config{file: file, index: map[string]int{}}
}

// ParseConfig reads a node config from r. file names it in errors (use the
// host path, e.g. /etc/storagegrid/nodes/DC1-S3.conf). A line without
// `=`, an invalid key or a key given twice is an error naming file:line.
func ParseConfig(file string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a node config file", file, maxConfigSize)
	}
	c := NewConfig(file)
	for n, raw := range strings.SplitAfter(string(data), "\n") {
		if raw == "" {
			continue // after a final newline
		}
		l, err := parseLine(raw)
		if err != nil {
			return nil, &ParseError{File: file, Line: n + 1, Msg: err.Error()}
		}
		if l.key != "" {
			if prev, dup := c.index[l.key]; dup {
				msg := fmt.Sprintf("duplicate key %s (first set on line %d)", l.key, c.lineOf(prev))
				return nil, &ParseError{File: file, Line: n + 1, Msg: msg}
			}
			c.index[l.key] = len(c.lines)
		}
		c.lines = append(c.lines, l)
	}
	return c, nil
}

func parseLine(raw string) (line, error) {
	text := strings.TrimSpace(raw)
	if text == "" || strings.HasPrefix(text, "#") {
		return line{raw: raw}, nil
	}
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		// Only the first word is shown: the rest may be a password.
		first, _, _ := strings.Cut(text, " ")
		return line{}, fmt.Errorf("the line starting %q has no '=': write KEY = VALUE", first)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if err := checkKeySyntax(key); err != nil {
		return line{}, err
	}
	return line{raw: raw, key: key, value: value}, nil
}

// checkKey accepts shell-variable-like keys: a letter, then letters,
// digits and underscores.
func checkKeySyntax(key string) error {
	if key == "" {
		return errors.New("missing key before '='")
	}
	for i, r := range key {
		letter := (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
		if letter || (i > 0 && (r == '_' || (r >= '0' && r <= '9'))) {
			continue
		}
		return fmt.Errorf("invalid key %q: use letters, digits and '_', starting with a letter", key)
	}
	return nil
}

// File is the name the config was parsed or created with.
func (c *Config) File() string { return c.file }

// Get returns the value of key and whether it is set.
func (c *Config) Get(key string) (string, bool) {
	i, ok := c.index[key]
	if !ok {
		return "", false
	}
	return c.lines[i].value, true
}

// Line returns the 1-based line on which key is set, or 0 when it is not.
// Validation uses it to point at the offending line.
func (c *Config) Line(key string) int {
	i, ok := c.index[key]
	if !ok {
		return 0
	}
	return c.lineOf(i)
}

func (c *Config) lineOf(i int) int { return i + 1 }

// Keys returns the keys in file order.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(c.index))
	for _, l := range c.lines {
		if l.key != "" {
			keys = append(keys, l.key)
		}
	}
	return keys
}

// Set gives key a value: an existing line is rewritten in place, a new key
// is appended at the end. Keys and values that could not be read back
// (bad key, line breaks, NUL) are errors.
func (c *Config) Set(key, value string) error {
	if err := checkKeySyntax(key); err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	if strings.ContainsAny(value, "\r\n\x00") || strings.TrimSpace(value) != value {
		return fmt.Errorf("%s: %s: value %q must be one line without leading or trailing spaces", c.file, key, value)
	}
	l := line{raw: key + " = " + value + "\n", key: key, value: value}
	if i, ok := c.index[key]; ok {
		c.lines[i] = l
		return nil
	}
	if n := len(c.lines); n > 0 && !strings.HasSuffix(c.lines[n-1].raw, "\n") {
		c.lines[n-1].raw += "\n"
	}
	c.index[key] = len(c.lines)
	c.lines = append(c.lines, l)
	return nil
}

// Delete removes key's line and reports whether it was set.
func (c *Config) Delete(key string) bool {
	i, ok := c.index[key]
	if !ok {
		return false
	}
	c.lines = append(c.lines[:i], c.lines[i+1:]...)
	delete(c.index, key)
	for k, j := range c.index {
		if j > i {
			c.index[k] = j - 1
		}
	}
	return true
}

// FileMode is the mode its file gets when this tool writes it: 0600 when
// it holds a secret (a temporary installation password or its hash), so
// that only root reads it, else 0644 as the installer leaves node configs.
func (c *Config) FileMode() os.FileMode {
	for k := range c.index {
		if nodekey.Secret(k) {
			return 0o600
		}
	}
	return 0o644
}

// Bytes renders the config. An unmodified config renders exactly as it
// was read.
func (c *Config) Bytes() []byte {
	var b strings.Builder
	for _, l := range c.lines {
		b.WriteString(l.raw)
	}
	return []byte(b.String())
}
