package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/node"
)

// jsonOutput reports whether the user asked for JSON or NDJSON.
func (g *globals) jsonOutput() bool { return g.output == "json" || g.output == "ndjson" }

// printf writes human output unless --quiet.
func (g *globals) printf(format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stdout, format, a...)
	}
}

// printJSON writes v as one JSON document (json) or, when v is a slice and
// the format is ndjson, one compact object per line.
func (g *globals) printJSON(v any) error {
	if g.quiet {
		return nil
	}
	if g.output == "ndjson" {
		if items, ok := asSlice(v); ok {
			enc := json.NewEncoder(g.stdout)
			for _, it := range items {
				if err := enc.Encode(it); err != nil {
					return err
				}
			}
			return nil
		}
		return json.NewEncoder(g.stdout).Encode(v)
	}
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// warnf writes a warning to stderr; warnings are not suppressed by --quiet
// because they concern correctness, not progress.
func (g *globals) warnf(format string, a ...any) {
	fmt.Fprintf(g.stderr, "storagegrid: warning: "+format+"\n", a...)
}

// asSlice returns the elements of v when v is a slice or array.
func asSlice(v any) ([]any, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// yesNo spells a flag in a table cell.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printCheck prints a runbook check line, then each finding under it
// (`  ERROR: KEY = VALUE` over its reason). The line ends in PASSED only
// when the check found nothing: a warning is worth a look, so it must not
// sit under a PASSED (whether the command fails is the errors' business,
// not the line's). Every command that checks a node's config prints
// through it, so the lines read the same whichever check found the problem.
func (g *globals) printCheck(title string, fs []finding.Finding) {
	if len(fs) == 0 {
		g.printf("%s... PASSED\n", title)
		return
	}
	g.printf("%s...\n", title)
	for _, f := range fs {
		g.printf("%s", f.Text())
	}
}

// printReport prints validate's checks, in text mode only.
func (g *globals) printReport(r node.Report) {
	if g.jsonOutput() {
		return
	}
	for _, c := range r.Checks {
		g.printCheck(c.Title, c.Findings)
	}
}

// textf prints human progress lines, which JSON output leaves out so that
// stdout stays one document.
func (g *globals) textf(format string, a ...any) {
	if !g.jsonOutput() {
		g.printf(format, a...)
	}
}

// out is where command output goes: nowhere with --quiet.
func (g *globals) out() io.Writer {
	if g.quiet {
		return io.Discard
	}
	return g.stdout
}

// plural counts n things: "1 object", "2 objects".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
