package audit

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultDir is where an admin node keeps its audit logs (under --root).
const DefaultDir = "/var/local/audit/export"

// LiveName is the name of the file the grid is writing to.
const LiveName = "audit.log"

// rotatedName matches the saved logs: yyyy-mm-dd.txt, a second save of
// the same day yyyy-mm-dd.txt.N, and their compressed forms.
var rotatedName = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.txt(?:\.(\d+))?(\.gz)?$`)

// logName describes a file name the grid's log rotation produces.
type logName struct {
	date time.Time // zero for audit.log
	seq  int       // the .N of yyyy-mm-dd.txt.N
	live bool
	gz   bool
}

func parseLogName(base string) (logName, bool) {
	if base == LiveName {
		return logName{live: true}, true
	}
	m := rotatedName.FindStringSubmatch(base)
	if m == nil {
		return logName{}, false
	}
	d, err := time.Parse("2006-01-02", m[1])
	if err != nil {
		return logName{}, false
	}
	seq, _ := strconv.Atoi(m[2])
	return logName{date: d, seq: seq, gz: m[3] != ""}, true
}

// compare orders logs oldest first: by date, then by .N (a later save of
// the same day gets a higher N), and audit.log, being live, last.
func (a logName) compare(b logName) int {
	if a.live != b.live {
		if a.live {
			return 1
		}
		return -1
	}
	return cmp.Or(a.date.Compare(b.date), cmp.Compare(a.seq, b.seq))
}

// Files lists the audit logs of dir oldest first. When both yyyy-mm-dd.txt
// and yyyy-mm-dd.txt.gz exist the plain file wins: the grid is compressing
// it and the .gz may be incomplete. It returns ErrNoLogs when dir holds no
// audit logs.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	type file struct {
		name string
		log  logName
	}
	var files []file
	plain := map[string]bool{}
	for _, e := range entries {
		ln, ok := parseLogName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		files = append(files, file{e.Name(), ln})
		if !ln.gz {
			plain[e.Name()] = true
		}
	}
	files = slices.DeleteFunc(files, func(f file) bool {
		return f.log.gz && plain[strings.TrimSuffix(f.name, ".gz")]
	})
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoLogs)
	}
	slices.SortStableFunc(files, func(a, b file) int { return a.log.compare(b.log) })
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(dir, f.name)
	}
	return out, nil
}

// sortLogs puts explicitly named files in time order when every one of
// them has a rotation name; otherwise the order given is kept.
func sortLogs(paths []string) {
	names := make(map[string]logName, len(paths))
	for _, p := range paths {
		ln, ok := parseLogName(filepath.Base(p))
		if !ok {
			return
		}
		names[p] = ln
	}
	slices.SortStableFunc(paths, func(a, b string) int { return names[a].compare(names[b]) })
}

// outside reports whether a saved log dated by its name cannot hold
// messages in [since, until). Rotation time and time zone blur a file's
// span, so two days of margin are allowed either side.
func (ln logName) outside(since, until time.Time) bool {
	if ln.live || ln.date.IsZero() {
		return false
	}
	const margin = 48 * time.Hour
	end := ln.date.Add(24*time.Hour + margin)
	return !since.IsZero() && end.Before(since) || !until.IsZero() && ln.date.Add(-margin).After(until)
}
