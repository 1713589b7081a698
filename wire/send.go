package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// StatusError is a refusal by the receiver: the HTTP status and its
// message. Retryable tells a shipper whether sending the same batch again
// later can succeed.
type StatusError struct {
	Code    int
	Message string
	Wire    []int // the receiver's versions, when it refused ours
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("model server: %d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// Retryable is true for server-side and throttling failures; a 4xx other
// than 408 and 429 means the batch or the credentials are wrong.
func (e *StatusError) Retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// Send POSTs a compressed batch (from Compress) to the receiver at
// baseURL with the host's bearer token and returns its Ack. Network
// errors come back as they are; refusals as *StatusError.
func Send(ctx context.Context, c *http.Client, baseURL, token string, gz []byte) (Ack, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+IngestPath, bytes.NewReader(gz))
	if err != nil {
		return Ack{}, err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set(VersionHeader, fmt.Sprint(Version))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	var ack Ack
	err = do(c, req, &ack)
	return ack, err
}

// Negotiate asks the receiver which versions it reads and returns the
// highest one this package writes too.
func Negotiate(ctx context.Context, c *http.Client, baseURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+VersionPath, nil)
	if err != nil {
		return 0, err
	}
	var info VersionInfo
	if err := do(c, req, &info); err != nil {
		return 0, err
	}
	best := 0
	for _, v := range info.Wire {
		if supported(v) && v > best {
			best = v
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("model server reads wire versions %v, this agent writes %s", info.Wire, versionList())
	}
	return best, nil
}

// do runs req and decodes a 2xx JSON answer into out, or an ErrorBody
// into a *StatusError.
func do(c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("model server: reading answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(body))}
		var eb ErrorBody
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			se.Message, se.Wire = eb.Error, eb.Wire
		}
		return se
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("model server: malformed answer: %w", err)
	}
	return nil
}
