//go:build !agentonly

package main

import (
	"context"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/settings"
)

func init() { completeHosts = modelHosts }

// modelHosts asks the model server of the host's settings for its hosts,
// giving up after a second: a completion must not hang on a server that
// is down. Any failure offers nothing.
func modelHosts(root string) []string {
	if root == "" {
		root = "/"
	}
	r := hostpath.Root(root)
	s, err := settings.LoadAs(r.Join(settings.DefaultPath), settings.DefaultPath, true)
	if err != nil {
		return nil
	}
	c, err := model.ClientFor(s.Model, r, "")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	hosts, err := c.Hosts(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Host
	}
	return out
}
