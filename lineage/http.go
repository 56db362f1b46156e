package lineage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// HTTPConfig configures the HTTP transport (the OpenLineage client's "http"
// transport: POST of the event as JSON).
type HTTPConfig struct {
	// URL is the base URL of the receiver, e.g. http://marquez:5000.
	URL string
	// Endpoint is appended to URL; default /api/v1/lineage (Marquez).
	Endpoint string
	// Timeout bounds one attempt; default 5s (the Java client's
	// timeoutInMillis default).
	Timeout time.Duration
	// Retries after a failed attempt (network error, 429, 5xx); default 3,
	// negative for none. 4xx other than 429 is not retried.
	Retries int
	// Backoff before the first retry, doubled each time up to MaxBackoff;
	// defaults 200ms and 5s.
	Backoff, MaxBackoff time.Duration
	// APIKeyEnv names the environment variable holding an API key, sent as
	// "Authorization: Bearer <key>"; read at each send so a rotated key is
	// picked up. Empty or unset: no header.
	APIKeyEnv string
	// Headers are added to every request.
	Headers map[string]string
	// Client is the HTTP client (default: a new one; Timeout applies per
	// attempt through the request context).
	Client *http.Client
	// Getenv reads APIKeyEnv; default os.Getenv.
	Getenv func(string) string
}

// HTTP returns the HTTP transport.
func HTTP(cfg HTTPConfig) (Transport, error) {
	if cfg.URL == "" {
		return nil, errors.New("lineage: http transport: no URL")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "/api/v1/lineage"
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/") + "/" + strings.TrimPrefix(cfg.Endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lineage: http transport: bad URL %q", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &httpTransport{cfg: cfg, url: u.String()}, nil
}

type httpTransport struct {
	cfg HTTPConfig
	url string
}

// StatusError is a non-2xx reply.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("lineage: http %d: %s", e.Code, e.Body)
}

func (t *httpTransport) Send(ctx context.Context, m Message) error {
	var err error
	wait := t.cfg.Backoff
	for attempt := 0; ; attempt++ {
		err = t.attempt(ctx, m.Data)
		if err == nil || !retryable(err) || attempt >= t.cfg.Retries || ctx.Err() != nil {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(err, ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, t.cfg.MaxBackoff)
	}
}

func (t *httpTransport) attempt(ctx context.Context, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range t.cfg.Headers {
		req.Header.Set(k, v)
	}
	if t.cfg.APIKeyEnv != "" {
		if key := t.cfg.Getenv(t.cfg.APIKeyEnv); key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
	}
	resp, err := t.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	return nil
}

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	return true // network errors and timeouts
}

func (t *httpTransport) Close() error {
	t.cfg.Client.CloseIdleConnections()
	return nil
}
