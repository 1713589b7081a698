//go:build !agentonly

package main

import (
	"context"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/archive/adesim"
	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// archive adesim is hidden: it serves the tests and the demo.

type adesimOptions struct {
	listen, nodeID, addrFile, record string
	results, faults                  []string
	negotiate, echo                  bool
}

func archiveADESimCommand(g *globals) *cli.Command {
	o := &adesimOptions{}
	var results, faults cli.StringSlice
	return &cli.Command{
		Name:   "adesim",
		Hidden: true,
		Usage:  "run a simulated ADE console (for tests and the demo)",
		Description: "Serves a simulated ARC ADE console until interrupted. Faults: KIND[:MATCH[:TIMES]]\n" +
			"with KIND close, garbage, noprompt, hang or slow (reply after 1h), MATCH a substring\n" +
			"of the command (empty: at connect).\n\n" +
			"   storagegrid archive adesim --listen 127.0.0.1:0 --addr-file /tmp/ade.addr",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:1409", Destination: &o.listen, Usage: "listen on `ADDR` (port 0: any free port)"},
			&cli.StringFlag{Name: "node-id", Value: "13959984", Destination: &o.nodeID, Usage: "node `ID` shown in the prompt"},
			&cli.StringFlag{Name: "addr-file", Destination: &o.addrFile, Usage: "write the listening address to `FILE`"},
			&cli.StringFlag{Name: "record", Destination: &o.record, Usage: "append every event as a JSON line to `FILE`"},
			&cli.StringSliceFlag{Name: "result", Destination: &results, Usage: "answer Object_Lost for a CBID with a code: `CBID=CODE`"},
			&cli.StringSliceFlag{Name: "fault", Destination: &faults, Usage: "misbehave: `KIND[:MATCH[:TIMES]]`"},
			&cli.BoolFlag{Name: "negotiate", Destination: &o.negotiate, Usage: "open with telnet option negotiation"},
			&cli.BoolFlag{Name: "echo", Destination: &o.echo, Usage: "echo commands back"},
		},
		Action: func(c *cli.Context) error {
			o.results, o.faults = results.Value(), faults.Value()
			return runADESim(c.Context, g, o)
		},
	}
}

func runADESim(ctx context.Context, g *globals, o *adesimOptions) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	if o.record != "" {
		f, err := os.OpenFile(o.record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Record = f
	}
	s, err := adesim.Start(o.listen, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.addrFile != "" {
		if err := atomicfile.Write(o.addrFile, []byte(s.Addr()+"\n"), 0o644); err != nil {
			return err
		}
	}
	g.printf("adesim: simulated ADE console listening on %s\n", s.Addr())
	<-ctx.Done()
	return nil
}

// config reads the --result and --fault flags.
func (o *adesimOptions) config() (adesim.Config, error) {
	cfg := adesim.Config{NodeID: o.nodeID, Negotiate: o.negotiate, Echo: o.echo, Results: map[string]string{}}
	for _, r := range o.results {
		id, code, ok := strings.Cut(r, "=")
		c, err := archive.ParseCBID(id)
		if !ok || err != nil || code == "" {
			return cfg, fail.Usagef("--result %q: want CBID=CODE", r)
		}
		cfg.Results[string(c)] = code
	}
	for _, f := range o.faults {
		fault, err := adesim.ParseFault(f)
		if err != nil {
			return cfg, fail.Usagef("--fault: %v", err)
		}
		cfg.Faults = append(cfg.Faults, fault)
	}
	return cfg, nil
}
