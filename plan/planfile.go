package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// A plan file is the plan's JSON (the -json view) with the desired bodies
// of every change, redacted: enough to apply it without the spec, and never
// a secret. [WritePlanFile] and [ReadPlanFile] are its codec.

// planFile is the on-disk envelope.
type planFile struct {
	Kind string `json:"kind"` // "rtsapc-plan"
	*Plan
}

const planFileKind = "rtsapc-plan"

// WritePlanFile writes p (redacted) to w.
func WritePlanFile(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(planFile{Kind: planFileKind, Plan: p.Redacted()})
}

// ReadPlanFile reads a plan file.
func ReadPlanFile(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var pf planFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&pf); err != nil || pf.Kind != planFileKind || pf.Plan == nil {
		if err == nil {
			err = fmt.Errorf("not an rtsapc plan file")
		}
		return nil, fmt.Errorf("plan file: %w", err)
	}
	if pf.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan file: format version %q is not supported (this rtsapc reads %q)", pf.FormatVersion, FormatVersion)
	}
	for _, c := range pf.Changes {
		if c.After != nil {
			n, err := NormalizeObject(c.After)
			if err != nil {
				return nil, err
			}
			c.After = n
		}
	}
	return pf.Plan, nil
}
