package ol

const facetBase = "https://openlineage.io/spec/facets/"

// Facet schema URLs: the $id of each facet file plus the definition.
const (
	SchemaFacetURL             = facetBase + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	DatasourceFacetURL         = facetBase + "1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"
	ColumnLineageFacetURL      = facetBase + "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	SymlinksFacetURL           = facetBase + "1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet"
	DatasetTypeFacetURL        = facetBase + "1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet"
	DatasetOwnershipFacetURL   = facetBase + "1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"
	DatasetDocFacetURL         = facetBase + "1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
	JobTypeFacetURL            = facetBase + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	SQLFacetURL                = facetBase + "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
	SourceCodeLocationFacetURL = facetBase + "1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
	JobOwnershipFacetURL       = facetBase + "1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet"
	JobDocFacetURL             = facetBase + "1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
	JobTagsFacetURL            = facetBase + "1-0-0/TagsJobFacet.json#/$defs/TagsJobFacet"
	ParentFacetURL             = facetBase + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	ProcessingEngineFacetURL   = facetBase + "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	NominalTimeFacetURL        = facetBase + "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	ErrorMessageFacetURL       = facetBase + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	InputStatisticsFacetURL    = facetBase + "1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
	OutputStatisticsFacetURL   = facetBase + "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
)

// Base holds the fields every facet has.
type Base struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

func base(producer, url string) Base { return Base{Producer: producer, SchemaURL: url} }

// SchemaDatasetFacet lists a dataset's fields.
type SchemaDatasetFacet struct {
	Base
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one (possibly nested) field.
type SchemaField struct {
	Name            string        `json:"name"`
	Type            string        `json:"type,omitempty"`
	Description     string        `json:"description,omitempty"`
	OrdinalPosition int           `json:"ordinal_position,omitempty"`
	Fields          []SchemaField `json:"fields,omitempty"`
}

// NewSchema returns a schema facet.
func NewSchema(producer string, fields []SchemaField) *SchemaDatasetFacet {
	if fields == nil {
		fields = []SchemaField{}
	}
	return &SchemaDatasetFacet{Base: base(producer, SchemaFacetURL), Fields: fields}
}

// DatasourceDatasetFacet names the system holding a dataset.
type DatasourceDatasetFacet struct {
	Base
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// NewDatasource returns a dataSource facet; uri must be absolute or "".
func NewDatasource(producer, name, uri string) *DatasourceDatasetFacet {
	return &DatasourceDatasetFacet{Base: base(producer, DatasourceFacetURL), Name: name, URI: uri}
}

// Transformation types and subtypes (docs/column_lineage_facet.md).
const (
	Direct   = "DIRECT"
	Indirect = "INDIRECT"

	Identity       = "IDENTITY"
	Transformation = "TRANSFORMATION"
	Aggregation    = "AGGREGATION"

	Join        = "JOIN"
	GroupBy     = "GROUP_BY"
	Filter      = "FILTER"
	Sort        = "SORT"
	Window      = "WINDOW"
	Conditional = "CONDITIONAL"
)

// ColumnLineageDatasetFacet maps output columns to the input fields they
// come from; Dataset lists inputs that affect the whole dataset (filters,
// joins, grouping, windows, sorting).
type ColumnLineageDatasetFacet struct {
	Base
	Fields  map[string]ColumnLineageField `json:"fields"`
	Dataset []InputField                  `json:"dataset,omitempty"`
}

// ColumnLineageField is the lineage of one output column.
type ColumnLineageField struct {
	InputFields []InputField `json:"inputFields"`
}

// InputField is one input column an output depends on.
type InputField struct {
	Namespace       string      `json:"namespace"`
	Name            string      `json:"name"`
	Field           string      `json:"field"`
	Transformations []Transform `json:"transformations,omitempty"`
}

// Transform says how an input field reaches an output.
type Transform struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype,omitempty"`
	Description string `json:"description,omitempty"`
	Masking     bool   `json:"masking"`
}

// NewColumnLineage returns a columnLineage facet.
func NewColumnLineage(producer string, fields map[string]ColumnLineageField, dataset []InputField) *ColumnLineageDatasetFacet {
	if fields == nil {
		fields = map[string]ColumnLineageField{}
	}
	return &ColumnLineageDatasetFacet{Base: base(producer, ColumnLineageFacetURL), Fields: fields, Dataset: dataset}
}

// SymlinksDatasetFacet lists other identifiers of the same dataset.
type SymlinksDatasetFacet struct {
	Base
	Identifiers []SymlinkIdentifier `json:"identifiers"`
}

// SymlinkIdentifier is another name of a dataset.
type SymlinkIdentifier struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
}

// NewSymlinks returns a symlinks facet.
func NewSymlinks(producer string, ids []SymlinkIdentifier) *SymlinksDatasetFacet {
	return &SymlinksDatasetFacet{Base: base(producer, SymlinksFacetURL), Identifiers: ids}
}

// DatasetTypeDatasetFacet says what a dataset is (TOPIC, TABLE, FILE…).
type DatasetTypeDatasetFacet struct {
	Base
	DatasetType string `json:"datasetType"`
	SubType     string `json:"subType,omitempty"`
}

// NewDatasetType returns a datasetType facet.
func NewDatasetType(producer, typ, subType string) *DatasetTypeDatasetFacet {
	return &DatasetTypeDatasetFacet{Base: base(producer, DatasetTypeFacetURL), DatasetType: typ, SubType: subType}
}

// OwnershipFacet is the ownership facet of a job or a dataset.
type OwnershipFacet struct {
	Base
	Owners []Owner `json:"owners"`
}

// Owner is an owner URN such as "team:market-data".
type Owner struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// NewJobOwnership and NewDatasetOwnership return ownership facets.
func NewJobOwnership(producer string, owners []Owner) *OwnershipFacet {
	return &OwnershipFacet{Base: base(producer, JobOwnershipFacetURL), Owners: owners}
}

func NewDatasetOwnership(producer string, owners []Owner) *OwnershipFacet {
	return &OwnershipFacet{Base: base(producer, DatasetOwnershipFacetURL), Owners: owners}
}

// DocumentationFacet is the documentation facet of a job or a dataset.
type DocumentationFacet struct {
	Base
	Description string `json:"description"`
	ContentType string `json:"contentType,omitempty"`
}

// NewJobDoc and NewDatasetDoc return documentation facets.
func NewJobDoc(producer, description string) *DocumentationFacet {
	return &DocumentationFacet{Base: base(producer, JobDocFacetURL), Description: description, ContentType: "text/plain"}
}

func NewDatasetDoc(producer, description string) *DocumentationFacet {
	return &DocumentationFacet{Base: base(producer, DatasetDocFacetURL), Description: description, ContentType: "text/plain"}
}

// Processing types and emission patterns of the jobType facet.
const (
	Batch     = "BATCH"
	Streaming = "STREAMING"

	EventBased   = "EVENT_BASED"
	Periodic     = "PERIODIC"
	Accumulative = "ACCUMULATIVE"
)

// JobTypeJobFacet says how a job processes data.
type JobTypeJobFacet struct {
	Base
	ProcessingType  string           `json:"processingType"`
	Integration     string           `json:"integration"`
	JobType         string           `json:"jobType,omitempty"`
	EmissionPattern *EmissionPattern `json:"emissionPattern,omitempty"`
}

// EmissionPattern describes when and what a job's events carry.
type EmissionPattern struct {
	EventTrigger     string `json:"eventTrigger"`
	EventContentMode string `json:"eventContentMode"`
	// WindowDuration in seconds (≥ 1) for periodic emission; 0 = omitted.
	WindowDuration int64 `json:"windowDuration,omitempty"`
}

// NewJobType returns a jobType facet.
func NewJobType(producer, processingType, integration, jobType string) *JobTypeJobFacet {
	return &JobTypeJobFacet{Base: base(producer, JobTypeFacetURL), ProcessingType: processingType,
		Integration: integration, JobType: jobType}
}

// SQLJobFacet is the SQL a job runs.
type SQLJobFacet struct {
	Base
	Query   string `json:"query"`
	Dialect string `json:"dialect,omitempty"`
}

// NewSQL returns a sql facet.
func NewSQL(producer, query, dialect string) *SQLJobFacet {
	return &SQLJobFacet{Base: base(producer, SQLFacetURL), Query: query, Dialect: dialect}
}

// SourceCodeLocationJobFacet locates the spec that declares a job.
type SourceCodeLocationJobFacet struct {
	Base
	Type    string `json:"type"`
	URL     string `json:"url"`
	RepoURL string `json:"repoUrl,omitempty"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	Tag     string `json:"tag,omitempty"`
	Branch  string `json:"branch,omitempty"`
}

// NewSourceCodeLocation returns a sourceCodeLocation facet; url must be an
// absolute URI.
func NewSourceCodeLocation(producer, typ, url string) *SourceCodeLocationJobFacet {
	return &SourceCodeLocationJobFacet{Base: base(producer, SourceCodeLocationFacetURL), Type: typ, URL: url}
}

// ParentRunFacet links a run to the run that started it (a workflow).
type ParentRunFacet struct {
	Base
	Run  ParentRun `json:"run"`
	Job  ParentJob `json:"job"`
	Root *RootRef  `json:"root,omitempty"`
}

// ParentRun identifies the parent run.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob identifies the parent job.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// RootRef identifies the root of a run hierarchy.
type RootRef struct {
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// NewParent returns a parent facet.
func NewParent(producer, runID, namespace, name string) *ParentRunFacet {
	return &ParentRunFacet{Base: base(producer, ParentFacetURL), Run: ParentRun{RunID: runID},
		Job: ParentJob{Namespace: namespace, Name: name}}
}

// ProcessingEngineRunFacet names the engine running a job.
type ProcessingEngineRunFacet struct {
	Base
	Version                   string `json:"version"`
	Name                      string `json:"name,omitempty"`
	OpenlineageAdapterVersion string `json:"openlineageAdapterVersion,omitempty"`
}

// NewProcessingEngine returns a processing_engine facet.
func NewProcessingEngine(producer, name, version, adapterVersion string) *ProcessingEngineRunFacet {
	if version == "" {
		version = "unknown"
	}
	return &ProcessingEngineRunFacet{Base: base(producer, ProcessingEngineFacetURL), Name: name,
		Version: version, OpenlineageAdapterVersion: adapterVersion}
}

// NominalTimeRunFacet is the scheduled time of a run.
type NominalTimeRunFacet struct {
	Base
	NominalStartTime string `json:"nominalStartTime"`
	NominalEndTime   string `json:"nominalEndTime,omitempty"`
}

// NewNominalTime returns a nominalTime facet from RFC 3339 times.
func NewNominalTime(producer, start, end string) *NominalTimeRunFacet {
	return &NominalTimeRunFacet{Base: base(producer, NominalTimeFacetURL), NominalStartTime: start, NominalEndTime: end}
}

// ErrorMessageRunFacet carries the error of a failed run.
type ErrorMessageRunFacet struct {
	Base
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
	StackTrace          string `json:"stackTrace,omitempty"`
}

// NewErrorMessage returns an errorMessage facet for a Go error.
func NewErrorMessage(producer, message, stack string) *ErrorMessageRunFacet {
	return NewErrorMessageIn(producer, "GO", message, stack)
}

// NewErrorMessageIn returns an errorMessage facet for an error of a system
// written in language (the facet requires one; "UNKNOWN" when the failing
// code is not rtsapc's, such as a workflow step's container).
func NewErrorMessageIn(producer, language, message, stack string) *ErrorMessageRunFacet {
	return &ErrorMessageRunFacet{Base: base(producer, ErrorMessageFacetURL), Message: message,
		ProgrammingLanguage: language, StackTrace: stack}
}

// StatisticsFacet is inputStatistics or outputStatistics.
type StatisticsFacet struct {
	Base
	RowCount  int64 `json:"rowCount"`
	Size      int64 `json:"size,omitempty"`
	FileCount int64 `json:"fileCount,omitempty"`
}

// NewInputStatistics and NewOutputStatistics return statistics facets.
func NewInputStatistics(producer string, rows, size int64) *StatisticsFacet {
	return &StatisticsFacet{Base: base(producer, InputStatisticsFacetURL), RowCount: rows, Size: size}
}

func NewOutputStatistics(producer string, rows, size int64) *StatisticsFacet {
	return &StatisticsFacet{Base: base(producer, OutputStatisticsFacetURL), RowCount: rows, Size: size}
}

// TagsFacet is the tags facet of a job.
type TagsFacet struct {
	Base
	Tags []Tag `json:"tags"`
}

// Tag is a key/value tag and where it came from.
type Tag struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// NewJobTags returns a job tags facet.
func NewJobTags(producer string, tags []Tag) *TagsFacet {
	return &TagsFacet{Base: base(producer, JobTagsFacetURL), Tags: tags}
}
