//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/settings"
)

type modelServeOptions struct {
	listen, db, tokens string
}

func modelServeCommand(g *globals) *cli.Command {
	o := &modelServeOptions{}
	return &cli.Command{
		Name:      "serve",
		Usage:     "run the model server",
		UsageText: "storagegrid model serve [--listen ADDR] [--db PATH] [--tokens FILE]",
		Description: "Serves the ingest endpoint for agents, the query API (described at\n" +
			"/api/v1/openapi.json) and a read-only web page of the fleet at / until interrupted.\n" +
			"The tokens file (mode 0600) lists the hosts that may ingest, as \"HOST TOKEN\"\n" +
			"lines. With model.tls_cert and model.tls_key the server speaks TLS; with\n" +
			"model.tls_client_ca every client must present a certificate signed by that\n" +
			"CA, and an agent's certificate (common name or DNS name) must name the host\n" +
			"it sends for. A host listed with a token must send it as well; a host listed\n" +
			"as \"HOST -\" is let in by its certificate alone. model.tls_client_crl names\n" +
			"CRLs of the client CA; a certificate they revoke fails the handshake. SIGHUP\n" +
			"reloads the tokens, the certificates and the CRLs. Example:\n" +
			"   storagegrid model serve --listen 10.0.0.5:9470\n" +
			"Retention runs every model.compact_every.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Destination: &o.listen, Usage: "`ADDR` to listen on, HOST:PORT or unix:/PATH (default model.listen)"},
			&cli.StringFlag{Name: "db", Destination: &o.db, Usage: "database: SQLite file `PATH` or postgres:// URL without password (default model.db)"},
			&cli.StringFlag{Name: "tokens", Destination: &o.tokens, Usage: "host tokens `FILE` (default model.tokens_file)"},
		},
		Action: func(c *cli.Context) error { return g.modelServe(c.Context, o) },
	}
}

// servePaths are where the server works: its database, its tokens file
// and its listen address, as this process reaches them, and the address
// as printed.
type servePaths struct {
	db                    modelDB
	tokens, listen, shown string
}

func (g *globals) servePaths(m settings.Model, o *modelServeOptions) (servePaths, error) {
	db, err := g.modelDB(m, o.db)
	if err != nil {
		return servePaths{}, err
	}
	p := servePaths{db: db, tokens: g.root.Join(m.TokensFile), listen: m.Listen, shown: m.Listen}
	if path, ok := strings.CutPrefix(p.listen, "unix:"); ok {
		p.listen = "unix:" + g.root.Join(path)
	}
	// Paths given as flags are taken as typed, like --config.
	p.tokens = orFlag(o.tokens, p.tokens)
	p.listen, p.shown = orFlag(o.listen, p.listen), orFlag(o.listen, p.shown)
	return p, nil
}

func (g *globals) modelServe(ctx context.Context, o *modelServeOptions) error {
	s, err := g.settings()
	if err != nil {
		return err
	}
	p, err := g.servePaths(s.Model, o)
	if err != nil {
		return err
	}
	lock, err := p.db.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	cfg, stls, err := g.serverConfig(s.Model, p)
	if err != nil {
		return err
	}
	store, err := p.db.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg.Store = store
	cfg.Log = log.New(g.stderr, "storagegrid: warning: ", 0)
	srv, err := model.NewServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return g.runServer(ctx, srv, p, stls, cfg.Tokens)
}

// serverConfig loads what the server is configured with: its TLS files,
// the host tokens and the [model] settings.
func (g *globals) serverConfig(m settings.Model, p servePaths) (model.Config, *model.ServerTLS, error) {
	if strings.HasPrefix(p.listen, "unix:") && m.TLSCert != "" {
		return model.Config{}, nil, fail.Usagef("model.tls_cert: TLS is for TCP listeners; %s is a Unix socket", p.shown)
	}
	stls, err := model.LoadServerTLS(m, g.root)
	if err != nil {
		return model.Config{}, nil, err
	}
	tokens, err := model.LoadTokens(p.tokens)
	if err != nil {
		return model.Config{}, nil, err
	}
	cfg, err := model.ConfigFor(m, g.root)
	if err != nil {
		return model.Config{}, nil, err
	}
	cfg.Tokens, cfg.ClientCerts = tokens, stls.RequiresClientCerts()
	return cfg, stls, nil
}

// runServer listens and serves until ctx ends.
func (g *globals) runServer(ctx context.Context, srv *model.Server, p servePaths, stls *model.ServerTLS, tokens *model.Tokens) error {
	ln, err := model.Listen(p.listen)
	if err != nil {
		return fmt.Errorf("model serve: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		if host, port, err := net.SplitHostPort(p.shown); err == nil && port == "0" {
			// Port 0 asked for any free port: say which, for whoever
			// started the server to tell its clients.
			p.shown = net.JoinHostPort(host, strconv.Itoa(tcp.Port))
		}
	}
	if stls != nil {
		ln = stls.Listener(ln)
	}
	g.printf("Model server listening on %s%s (database %s, %s)\n", p.shown, tlsMode(stls), p.db.shown, describeTokens(tokens))
	go g.serveSignals(ctx, srv, p.tokens, stls)
	// Under systemd (Type=notify): ready once listening, a watchdog ping
	// while the committer is not stuck in the store, stopping on the way
	// out. Outside systemd these do nothing.
	var n sdnotify.Notifier
	_ = n.Ready()
	_ = n.Status("serving on " + p.shown + ", database " + p.db.shown)
	wctx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	go n.Watchdog(wctx, srv.Healthy)
	// Failed handshakes (an untrusted or expired client certificate) are
	// worth an operator's eye: warnings on stderr.
	err = srv.Serve(ctx, ln, log.New(g.stderr, "storagegrid: warning: ", 0))
	_ = n.Stopping()
	if err != nil {
		return fmt.Errorf("model serve: %w", err)
	}
	g.printf("Model server stopped\n")
	return nil
}

func tlsMode(stls *model.ServerTLS) string {
	switch {
	case stls.RequiresClientCerts():
		return " with mutual TLS"
	case stls != nil:
		return " with TLS"
	}
	return ""
}

// describeTokens says how many hosts may ingest; hosts listed without a
// token are let in by their client certificates.
func describeTokens(t *model.Tokens) string {
	if t.Hosts() == t.Len() {
		return fmt.Sprintf("%d host tokens", t.Len())
	}
	return fmt.Sprintf("%d hosts, %d with a token", t.Hosts(), t.Len())
}

// serveSignals reloads the tokens and the TLS files on SIGHUP, and
// reports compactions.
func (g *globals) serveSignals(ctx context.Context, srv *model.Server, tokensPath string, stls *model.ServerTLS) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			g.reload(srv, tokensPath, stls)
		case err := <-srv.Compactions:
			if err != nil {
				g.warnf("compaction: %v", err)
			}
		}
	}
}

// reload reads the tokens and the TLS files again; whichever fails to
// load keeps its old version.
func (g *globals) reload(srv *model.Server, tokensPath string, stls *model.ServerTLS) {
	t, err := model.LoadTokens(tokensPath)
	if err == nil {
		err = srv.SetTokens(t)
	}
	if err != nil {
		g.warnf("keeping the old tokens: %v", err)
	} else {
		g.printf("Reloaded %s\n", describeTokens(t))
	}
	if stls == nil {
		return
	}
	if err := stls.Reload(); err != nil {
		g.warnf("keeping the old TLS certificates: %v", err)
		return
	}
	g.printf("Reloaded TLS certificates\n")
}
