package archive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// TSM runs queries through dsmadmc, the TSM administrative client.
//
// The password never appears in dsmadmc's argv (visible in ps and
// /proc/PID/cmdline), its environment or our errors. dsmadmc prompts for
// the password when -password is not given, as IBM recommends for keeping
// it out of process listings; we answer that prompt on dsmadmc's stdin
// from the password file. An error names the TSM message codes of
// dsmadmc's output (ANS1025E, ANR2034E: the part of each message line
// that is IBM's code), not the output itself, which follows the prompt
// the password answered and might echo it: nothing in an error is ever
// searched for the password.
type TSM struct {
	Path    string // dsmadmc
	AdminID string
	Env     []string // extra environment (DSM_DIR, DSM_CONFIG); nil inherits ours
	pass    string
}

// NewTSM returns the client of dsmadmc at path for the administrator
// adminID, whose password (the CLI reads it with package secretfile) is
// given to dsmadmc on its standard input.
func NewTSM(path, adminID, password string) (*TSM, error) {
	if adminID == "" || strings.ContainsAny(adminID, " \t\r\n=") {
		return nil, fmt.Errorf("archive.dsmadmc.admin_id %q: must be a TSM administrator name", adminID)
	}
	if password == "" || strings.ContainsAny(password, "\r\n") {
		return nil, errors.New("archive.dsmadmc.password_file: the password must be one non-empty line")
	}
	return &TSM{Path: path, AdminID: adminID, pass: password}, nil
}

// rcNoMatch is dsmadmc's return code for "no match found" (ANR2034E):
// an empty answer, not a failure.
const rcNoMatch = 11

// Query runs one administrative command and returns its output.
func (t *TSM) Query(ctx context.Context, command string) (string, error) {
	cmd := exec.CommandContext(ctx, t.Path, "-id="+t.AdminID, "-dataonly=yes", command)
	if t.Env != nil {
		cmd.Env = append(os.Environ(), t.Env...)
	}
	cmd.Stdin = strings.NewReader(t.pass + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == rcNoMatch {
		return "", nil
	}
	if err != nil {
		codes := messageCodes(out.String() + "\n" + errb.String())
		if len(codes) == 0 {
			return "", fmt.Errorf("dsmadmc %q: %w (no TSM message; run dsmadmc by hand to see its output)", command, err)
		}
		return "", fmt.Errorf("dsmadmc %q: %w; TSM messages %s (IBM's message reference explains them)", command, err, strings.Join(codes, ", "))
	}
	return out.String(), nil
}

// tsmMessage is an IBM TSM message code (after a prompt, too): ANS
// (client) or ANR (server), four digits, a severity letter.
var tsmMessage = regexp.MustCompile(`\b(AN[RS]\d{4}[EISWK])\b`)

// messageCodes returns the distinct TSM message codes in dsmadmc's
// output, in order.
func messageCodes(out string) []string {
	var codes []string
	for _, m := range tsmMessage.FindAllStringSubmatch(out, -1) {
		if !slices.Contains(codes, m[1]) {
			codes = append(codes, m[1])
		}
	}
	return codes
}

// ActlogCommand is the runbook's activity-log search for a CBID.
func ActlogCommand(c CBID, days int) string {
	return fmt.Sprintf("query actlog begindate=-%d search=%s", days, c)
}

// ContentCommand is the runbook's listing of a tape volume.
func ContentCommand(volume string) string { return "query content " + volume }

// Evidence is what the TSM activity log says about one CBID.
type Evidence struct {
	CBID      CBID          `json:"cbid"`
	Days      int           `json:"days"`
	Confirmed bool          `json:"confirmed"` // a data integrity error names this CBID
	Entries   []ActlogEntry `json:"entries"`
}

// Check searches the last days of the activity log for c.
func (t *TSM) Check(ctx context.Context, c CBID, days int) (Evidence, error) {
	if days < 1 || days > 9999 {
		return Evidence{}, fmt.Errorf("activity log days %d: must be 1..9999", days)
	}
	out, err := t.Query(ctx, ActlogCommand(c, days))
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{CBID: c, Days: days, Entries: ParseActlog(out)}
	_, ev.Confirmed = ev.Proof()
	if ev.Entries == nil {
		ev.Entries = []ActlogEntry{}
	}
	return ev, nil
}

// Proof returns the first entry that confirms the CBID is gone: a data
// integrity error naming it.
func (ev Evidence) Proof() (ActlogEntry, bool) {
	for _, e := range ev.Entries {
		if e.CBID == ev.CBID && e.IntegrityError {
			return e, true
		}
	}
	return ActlogEntry{}, false
}

// CheckAll checks each CBID in turn; it stops at the first query that
// fails.
func (t *TSM) CheckAll(ctx context.Context, ids []CBID, days int) ([]Evidence, error) {
	evs := make([]Evidence, 0, len(ids))
	for _, id := range ids {
		ev, err := t.Check(ctx, id, days)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// Unconfirmed is a partial error saying how many of evs the activity log
// does not confirm, or nil when it confirms them all.
func Unconfirmed(evs []Evidence) error {
	n := 0
	for _, ev := range evs {
		if !ev.Confirmed {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fail.Partialf("%d of %d CBIDs not confirmed by the TSM activity log", n, len(evs))
}

var volumeRE = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,256}$`)

// Content lists the objects stored on a TSM volume.
func (t *TSM) Content(ctx context.Context, volume string) ([]ContentEntry, error) {
	if !volumeRE.MatchString(volume) {
		return nil, fail.Usagef("invalid TSM volume name %q: letters, digits and . _ : / - only", volume)
	}
	out, err := t.Query(ctx, ContentCommand(volume))
	if err != nil {
		return nil, err
	}
	return ParseContent(out)
}

// ActlogDays is the begindate window that covers a failure at since.
func ActlogDays(since, now time.Time) int {
	if since.IsZero() || since.After(now) {
		return 1
	}
	days := int(now.Sub(since)/(24*time.Hour)) + 1
	return min(days, 9999)
}

// ActlogEntry is one activity-log message, its wrapped lines joined.
type ActlogEntry struct {
	Date           string `json:"date"` // as TSM printed it, e.g. 12/21/2008 05:39:15
	MessageID      string `json:"message_id,omitempty"`
	Text           string `json:"text"`
	Session        string `json:"session,omitempty"`
	Node           string `json:"node,omitempty"`      // TSM node name, e.g. DEV-ARC-20
	Filespace      string `json:"filespace,omitempty"` // the Archive Node ID, e.g. /19130020
	VolumeID       string `json:"volume_id,omitempty"` // high-level name, e.g. 20081002
	CBID           CBID   `json:"cbid,omitempty"`      // low-level name
	IntegrityError bool   `json:"integrity_error"`
}

var (
	actlogStartRE = regexp.MustCompile(`^(\d{2}/\d{2}/\d{2,4}|\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})\s+(.*)$`)
	msgIDRE       = regexp.MustCompile(`^(AN[RSE]\d{4}[IWESK])\b`)
	sessionRE     = regexp.MustCompile(`(?i)\(SESSION:\s*(\d+)\)|for session (\d+)`)
	nodeRE        = regexp.MustCompile(`for node (\S+)`)
	filespaceRE   = regexp.MustCompile(`file space (/\S+)`)
	fileRE        = regexp.MustCompile(`for file /([^/\s]+)/\s*([0-9A-Fa-f]{16})\b`)
	integrityRE   = regexp.MustCompile(`(?i)\bdata\s+integrity\s+error\b`)
)

// ParseActlog reads `query actlog` output. An entry starts with its date
// and time; the lines after it, up to the next entry, a blank line or a
// prompt, continue it (TSM wraps long messages, splitting even
// "/VOLUME/ CBID" over two lines). Client banner lines (ANS8000I ...)
// are not entries.
func ParseActlog(out string) []ActlogEntry {
	var entries []ActlogEntry
	var cur *ActlogEntry
	var text []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.Join(text, " ")
			fillActlog(cur)
			entries = append(entries, *cur)
		}
		cur, text = nil, nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := startOfEntry(line); m != nil {
			flush()
			cur, text = &ActlogEntry{Date: m[1] + " " + m[2]}, []string{m[3]}
			continue
		}
		if line == "" || strings.HasPrefix(line, ">") || msgIDRE.MatchString(line) && strings.HasPrefix(line, "ANS") {
			flush()
			continue
		}
		if cur != nil {
			text = append(text, line)
		}
	}
	flush()
	return entries
}

// startOfEntry matches a line that opens an entry. Most lines are
// continuations, so the regexp only runs on lines starting with a digit.
func startOfEntry(line string) []string {
	if line == "" || line[0] < '0' || line[0] > '9' {
		return nil
	}
	return actlogStartRE.FindStringSubmatch(line)
}

// fillActlog picks the fields out of an entry's text; each regexp runs
// only when its cheap marker is present.
func fillActlog(e *ActlogEntry) {
	t := e.Text
	if m := msgIDRE.FindStringSubmatch(t); m != nil {
		e.MessageID = m[1]
	}
	lower := strings.ToLower(t)
	if strings.Contains(lower, "session") {
		if m := sessionRE.FindStringSubmatch(t); m != nil {
			e.Session = m[1] + m[2]
		}
	}
	if strings.Contains(t, "for node ") {
		e.Node = nodeRE.FindStringSubmatch(t)[1]
	}
	if strings.Contains(t, "file space /") {
		e.Filespace = filespaceRE.FindStringSubmatch(t)[1]
	}
	if strings.Contains(t, "for file /") {
		if m := fileRE.FindStringSubmatch(t); m != nil {
			e.VolumeID, e.CBID = m[1], CBID(strings.ToUpper(m[2]))
		}
	}
	e.IntegrityError = e.MessageID == "ANR0548W" || strings.Contains(lower, "integrity") && integrityRE.MatchString(t)
}

// ContentEntry is one object of a `query content` listing.
type ContentEntry struct {
	NodeName  string `json:"node_name"` // TSM node, e.g. DEV-ARC-20
	Type      string `json:"type"`      // Arch
	Filespace string `json:"filespace"` // /19130020
	FSID      string `json:"fsid"`
	NodeID    string `json:"node_id"`   // the Archive Node ID: the filespace without its slash
	VolumeID  string `json:"volume_id"` // high-level name
	CBID      CBID   `json:"cbid"`      // low-level name
}

var contentNameRE = regexp.MustCompile(`^/([^/\s]+)/\s*([0-9A-Fa-f]{16})$`)

// ParseContent reads `query content` output: rows of node name, type,
// filespace, FSID and the client's name for the file, "/VOLUMEID/ CBID"
// (possibly wrapped before the CBID). A row that has the shape of an
// object but a name that is not "/VOLUMEID/ CBID" is an error: a list
// that will be declared lost must not be half-read.
func ParseContent(out string) ([]ContentEntry, error) {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	entries := []ContentEntry{}
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) < 4 || !isContentType(f[1]) || !strings.HasPrefix(f[2], "/") {
			continue
		}
		name := strings.Join(f[4:], " ")
		if strings.HasSuffix(name, "/") && i+1 < len(lines) {
			if next := strings.TrimSpace(lines[i+1]); len(next) == 16 && !strings.ContainsAny(next, " /") {
				name += " " + next
				i++
			}
		}
		m := contentNameRE.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("query content line %d: %q: the file name is not /VOLUMEID/ CBID", i+1, strings.TrimSpace(lines[i]))
		}
		c, err := ParseCBID(m[2])
		if err != nil {
			return nil, fmt.Errorf("query content line %d: %v", i+1, err)
		}
		entries = append(entries, ContentEntry{NodeName: f[0], Type: f[1], Filespace: f[2], FSID: f[3],
			NodeID: strings.TrimPrefix(f[2], "/"), VolumeID: m[1], CBID: c})
	}
	return entries, nil
}

func isContentType(s string) bool { return s == "Arch" || s == "Bkup" || s == "SpMg" }
