package kafkasink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// registerSchema registers an Avro schema under subject with a
// Confluent-compatible schema registry (POST /subjects/{subject}/versions)
// and returns its id. Registering an existing schema returns its id, so
// this is idempotent.
func registerSchema(ctx context.Context, client *http.Client, base, subject, schema string) (int32, error) {
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(map[string]string{"schema": schema, "schemaType": "AVRO"})
	if err != nil {
		return 0, err
	}
	u := strings.TrimRight(base, "/") + "/subjects/" + url.PathEscape(subject) + "/versions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("schema registry: %w", err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("schema registry: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("schema registry: registering %s: %s: %s", subject, resp.Status, bytes.TrimSpace(data))
	}
	var out struct {
		ID *int32 `json:"id"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.ID == nil {
		return 0, fmt.Errorf("schema registry: registering %s: unexpected answer %q", subject, data)
	}
	return *out.ID, nil
}
