// Package ol is the OpenLineage event model (spec 2-0-2) written from the
// JSON Schemas, since the official Go client cannot be had here. It has no
// dependency on the compiler, so the runtime (package lineage) and generated
// programs can use it.
//
// Events marshal with encoding/json to the wire format; facet maps are typed
// structs whose JSON keys are the facet names of the spec ("schema",
// "columnLineage", "jobType", "processing_engine", …), so output is
// deterministic (struct field order; map keys sorted by encoding/json).
//
// Every facet carries _producer and _schemaURL. Build facets with the
// constructors in facets.go, which fill _schemaURL with the facet schema's
// $id and definition, so a facet cannot name the wrong schema.
package ol

import (
	"bytes"
	"encoding/json"
	"time"
)

// Spec is the OpenLineage spec version modelled here.
const Spec = "2-0-2"

// SchemaBase is the $id of the core schema.
const SchemaBase = "https://openlineage.io/spec/" + Spec + "/OpenLineage.json"

// Schema URLs of the three event kinds.
const (
	RunEventSchemaURL     = SchemaBase + "#/$defs/RunEvent"
	JobEventSchemaURL     = SchemaBase + "#/$defs/JobEvent"
	DatasetEventSchemaURL = SchemaBase + "#/$defs/DatasetEvent"
)

// EventType is the run state transition of a RunEvent.
type EventType string

const (
	Start    EventType = "START"
	Running  EventType = "RUNNING"
	Complete EventType = "COMPLETE"
	Abort    EventType = "ABORT"
	Fail     EventType = "FAIL"
	Other    EventType = "OTHER"
)

// Terminal reports COMPLETE, ABORT and FAIL: no event of the run follows.
func (t EventType) Terminal() bool { return t == Complete || t == Abort || t == Fail }

// RunEvent is a run state update: what a job run read and wrote.
type RunEvent struct {
	EventTime time.Time       `json:"eventTime"`
	Producer  string          `json:"producer"`
	SchemaURL string          `json:"schemaURL"`
	EventType EventType       `json:"eventType,omitempty"`
	Run       Run             `json:"run"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs"`
	Outputs   []OutputDataset `json:"outputs"`
}

// JobEvent declares a job and its datasets without a run (static lineage).
type JobEvent struct {
	EventTime time.Time       `json:"eventTime"`
	Producer  string          `json:"producer"`
	SchemaURL string          `json:"schemaURL"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs"`
	Outputs   []OutputDataset `json:"outputs"`
}

// DatasetEvent declares a dataset's metadata without a job or run.
type DatasetEvent struct {
	EventTime time.Time `json:"eventTime"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	Dataset   Dataset   `json:"dataset"`
}

// Run identifies one execution of a job.
type Run struct {
	// RunID is a UUID, the same across all events of a run.
	RunID  string     `json:"runId"`
	Facets *RunFacets `json:"facets,omitempty"`
}

// Job is identified by Namespace and Name.
type Job struct {
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Facets    *JobFacets `json:"facets,omitempty"`
}

// Dataset is identified by Namespace and Name (docs/naming.md).
type Dataset struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    *DatasetFacets `json:"facets,omitempty"`
}

// InputDataset is a dataset a job reads.
type InputDataset struct {
	Namespace   string              `json:"namespace"`
	Name        string              `json:"name"`
	Facets      *DatasetFacets      `json:"facets,omitempty"`
	InputFacets *InputDatasetFacets `json:"inputFacets,omitempty"`
}

// OutputDataset is a dataset a job writes.
type OutputDataset struct {
	Namespace    string               `json:"namespace"`
	Name         string               `json:"name"`
	Facets       *DatasetFacets       `json:"facets,omitempty"`
	OutputFacets *OutputDatasetFacets `json:"outputFacets,omitempty"`
}

// Dataset returns the plain dataset of d.
func (d InputDataset) Dataset() Dataset {
	return Dataset{Namespace: d.Namespace, Name: d.Name, Facets: d.Facets}
}

// Dataset returns the plain dataset of d.
func (d OutputDataset) Dataset() Dataset {
	return Dataset{Namespace: d.Namespace, Name: d.Name, Facets: d.Facets}
}

// RunFacets are the run facets rtsapc emits.
type RunFacets struct {
	Parent           *ParentRunFacet           `json:"parent,omitempty"`
	ProcessingEngine *ProcessingEngineRunFacet `json:"processing_engine,omitempty"`
	NominalTime      *NominalTimeRunFacet      `json:"nominalTime,omitempty"`
	ErrorMessage     *ErrorMessageRunFacet     `json:"errorMessage,omitempty"`
}

// JobFacets are the job facets rtsapc emits.
type JobFacets struct {
	JobType            *JobTypeJobFacet            `json:"jobType,omitempty"`
	SQL                *SQLJobFacet                `json:"sql,omitempty"`
	SourceCodeLocation *SourceCodeLocationJobFacet `json:"sourceCodeLocation,omitempty"`
	Ownership          *OwnershipFacet             `json:"ownership,omitempty"`
	Documentation      *DocumentationFacet         `json:"documentation,omitempty"`
	Tags               *TagsFacet                  `json:"tags,omitempty"`
}

// DatasetFacets are the dataset facets rtsapc emits.
type DatasetFacets struct {
	Schema        *SchemaDatasetFacet        `json:"schema,omitempty"`
	DataSource    *DatasourceDatasetFacet    `json:"dataSource,omitempty"`
	ColumnLineage *ColumnLineageDatasetFacet `json:"columnLineage,omitempty"`
	Symlinks      *SymlinksDatasetFacet      `json:"symlinks,omitempty"`
	DatasetType   *DatasetTypeDatasetFacet   `json:"datasetType,omitempty"`
	Ownership     *OwnershipFacet            `json:"ownership,omitempty"`
	Documentation *DocumentationFacet        `json:"documentation,omitempty"`
}

// InputDatasetFacets are per-run facets of an input.
type InputDatasetFacets struct {
	InputStatistics *StatisticsFacet `json:"inputStatistics,omitempty"`
}

// OutputDatasetFacets are per-run facets of an output.
type OutputDatasetFacets struct {
	OutputStatistics *StatisticsFacet `json:"outputStatistics,omitempty"`
}

// MarshalJSON writes absent inputs and outputs as [] rather than null, which
// the schema rejects.
func (e RunEvent) MarshalJSON() ([]byte, error) {
	type plain RunEvent
	if e.Inputs == nil {
		e.Inputs = []InputDataset{}
	}
	if e.Outputs == nil {
		e.Outputs = []OutputDataset{}
	}
	return marshal(plain(e))
}

// MarshalJSON writes absent inputs and outputs as [].
func (e JobEvent) MarshalJSON() ([]byte, error) {
	type plain JobEvent
	if e.Inputs == nil {
		e.Inputs = []InputDataset{}
	}
	if e.Outputs == nil {
		e.Outputs = []OutputDataset{}
	}
	return marshal(plain(e))
}

// marshal is json.Marshal without HTML escaping, so that names holding <, >
// or & read as written (an Encoder with SetEscapeHTML(false) does not undo
// escapes a MarshalJSON method already made).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
