//go:build !agentonly

package main

import (
	"strings"
	"testing"
)

func TestIntersperse(t *testing.T) {
	app := newApp(&globals{})
	for in, want := range map[string]string{
		"sg node stop DC1-S3 --timeout 60s":              "sg node stop --timeout 60s DC1-S3",
		"sg node stop DC1-S3 DC1-S4 --timeout=5s -q":     "sg node stop --timeout=5s -q DC1-S3 DC1-S4",
		"sg --root /r node status DC1-S3 -o json":        "sg --root /r node status -o json DC1-S3",
		"sg audit scan a.log --type ARCE - b.log":        "sg audit scan --type ARCE a.log - b.log",
		"sg audit scan a.log -- --type":                  "sg audit scan a.log -- --type",
		"sg node stop DC1-S3 --generate-bash-completion": "sg node stop DC1-S3 --generate-bash-completion",
		"sg node status":                                 "sg node status",
		"sg frobnicate --yes x":                          "sg frobnicate --yes x",
		"sg node frob DC1-S3 --output json":              "sg node frob DC1-S3 --output json",
		"sg node start DC1-S3 --output json -- -x":       "sg node start --output json DC1-S3 -- -x",
	} {
		got := strings.Join(intersperse(app, strings.Fields(in)), " ")
		if got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
}
