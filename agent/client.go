package agent

import (
	"net/http"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/tlsfiles"
	"github.com/storagegrid/storagegrid/settings"
)

// HTTPClient is the client the agent ships with, from the [agent]
// settings: it trusts agent.tls_ca for the server's certificate and
// presents agent.tls_cert (mutual TLS) when set.
func HTTPClient(a settings.Agent, root hostpath.Root) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	cfg, err := tlsfiles.ClientConfig(root, tlsfiles.File{Key: "agent.tls_cert", Path: a.TLSCert},
		tlsfiles.File{Key: "agent.tls_key", Path: a.TLSKey}, tlsfiles.File{Key: "agent.tls_ca", Path: a.TLSCA})
	if err != nil || cfg == nil {
		return c, err
	}
	c.Transport = tlsfiles.Transport(cfg)
	return c, nil
}
