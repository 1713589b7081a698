//go:build !agentonly

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

type modelIngestOptions struct {
	tokenFile string
	files     []string
}

func modelIngestCommand(g *globals) *cli.Command {
	o := &modelIngestOptions{}
	return &cli.Command{
		Name:      "ingest",
		Usage:     "send saved wire batches (NDJSON, gzip or not) to the server as their host's agent",
		UsageText: "storagegrid model ingest [--token-file FILE] BATCH...",
		Description: "Checks each file against the wire schema, then posts it with the host's\n" +
			"token, as the agent would; replays are de-duplicated by the server. Over\n" +
			"mutual TLS the client certificate (model.client_tls_cert) must name the\n" +
			"host, and the token is needed only if the host has one. For replaying\n" +
			"spooled batches and testing a deployment. Example:\n" +
			"   storagegrid model ingest --token-file /etc/storagegrid/agent/token batch.ndjson.gz",
		Flags: append(clientFlags(), &cli.StringFlag{Name: "token-file", Destination: &o.tokenFile,
			Usage: "`FILE` holding the host's bearer token, mode 0600"}),
		Action: func(c *cli.Context) error {
			if o.files = c.Args().Slice(); len(o.files) == 0 {
				return fail.Usagef("ingest needs at least one BATCH file (see '%s --help')", c.Command.HelpName)
			}
			return g.modelIngest(c, o)
		},
	}
}

func (g *globals) modelIngest(c *cli.Context, o *modelIngestOptions) error {
	token, err := o.token()
	if err != nil {
		return err
	}
	cl, err := g.modelClient(c)
	if err != nil {
		return err
	}
	var acks []wire.Ack
	for _, path := range o.files {
		ack, err := cl.IngestFile(c.Context, token, path)
		if err != nil {
			return err
		}
		acks = append(acks, ack)
		g.textf("%s: host %s, %d stored, %d duplicates, %d stale; acknowledged up to epoch %d seq %d\n",
			path, ack.Host, ack.Stored, ack.Duplicates, ack.Stale, ack.Epoch, ack.Seq)
	}
	if g.jsonOutput() {
		return g.printJSON(acks)
	}
	return nil
}

// token reads --token-file; without it batches go without a token.
func (o *modelIngestOptions) token() (string, error) {
	if o.tokenFile == "" {
		return "", nil
	}
	token, err := model.ReadTokenFile(o.tokenFile)
	if err != nil {
		return "", fail.With(fail.Usage, err)
	}
	return token, nil
}
