package nifi

// The flow definition model: NiFi's RegisteredFlowSnapshot as "Download flow
// definition" writes it (nifi-api, package org.apache.nifi.flow). Field order
// follows the real exports in ../shared/schemas/nifi (Kafka_to_S3.json) so a
// generated file diffs cleanly against one exported by NiFi. Maps (properties,
// propertyDescriptors, parameterContexts) are encoded with sorted keys by
// encoding/json, so output is deterministic.

// Snapshot is the top level of a flow definition file.
type Snapshot struct {
	FlowContents               *ProcessGroup                `json:"flowContents"`
	ExternalControllerServices map[string]any               `json:"externalControllerServices"`
	ParameterContexts          map[string]*ParameterContext `json:"parameterContexts"`
	FlowEncodingVersion        string                       `json:"flowEncodingVersion"`
	ParameterProviders         map[string]any               `json:"parameterProviders"`
	Latest                     bool                         `json:"latest"`
}

// Position is a point on the canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Bundle names the NAR a component comes from.
type Bundle struct {
	Group    string `json:"group"`
	Artifact string `json:"artifact"`
	Version  string `json:"version"`
}

// ProcessGroup is a VersionedProcessGroup.
type ProcessGroup struct {
	Identifier                           string               `json:"identifier"`
	InstanceIdentifier                   string               `json:"instanceIdentifier"`
	Name                                 string               `json:"name"`
	Comments                             string               `json:"comments"`
	Position                             Position             `json:"position"`
	ProcessGroups                        []any                `json:"processGroups"`
	RemoteProcessGroups                  []any                `json:"remoteProcessGroups"`
	Processors                           []*Processor         `json:"processors"`
	InputPorts                           []any                `json:"inputPorts"`
	OutputPorts                          []any                `json:"outputPorts"`
	Connections                          []*Connection        `json:"connections"`
	Labels                               []any                `json:"labels"`
	Funnels                              []*Funnel            `json:"funnels"`
	ControllerServices                   []*ControllerService `json:"controllerServices"`
	ParameterContextName                 string               `json:"parameterContextName,omitempty"`
	DefaultFlowFileExpiration            string               `json:"defaultFlowFileExpiration"`
	DefaultBackPressureObjectThreshold   int64                `json:"defaultBackPressureObjectThreshold"`
	DefaultBackPressureDataSizeThreshold string               `json:"defaultBackPressureDataSizeThreshold"`
	ScheduledState                       string               `json:"scheduledState"`
	ExecutionEngine                      string               `json:"executionEngine"`
	MaxConcurrentTasks                   int                  `json:"maxConcurrentTasks"`
	StatelessFlowTimeout                 string               `json:"statelessFlowTimeout"`
	ComponentType                        string               `json:"componentType"`
	FlowFileConcurrency                  string               `json:"flowFileConcurrency"`
	FlowFileOutboundPolicy               string               `json:"flowFileOutboundPolicy"`
}

// PropertyDescriptor describes one property of a processor or service.
type PropertyDescriptor struct {
	Name                        string `json:"name"`
	DisplayName                 string `json:"displayName"`
	IdentifiesControllerService bool   `json:"identifiesControllerService"`
	Sensitive                   bool   `json:"sensitive"`
	Dynamic                     bool   `json:"dynamic"`
}

// Processor is a VersionedProcessor.
type Processor struct {
	Identifier                       string                         `json:"identifier"`
	InstanceIdentifier               string                         `json:"instanceIdentifier"`
	Name                             string                         `json:"name"`
	Comments                         string                         `json:"comments"`
	Position                         Position                       `json:"position"`
	Type                             string                         `json:"type"`
	Bundle                           Bundle                         `json:"bundle"`
	Properties                       map[string]string              `json:"properties"`
	PropertyDescriptors              map[string]*PropertyDescriptor `json:"propertyDescriptors"`
	Style                            map[string]string              `json:"style"`
	SchedulingPeriod                 string                         `json:"schedulingPeriod"`
	SchedulingStrategy               string                         `json:"schedulingStrategy"`
	ExecutionNode                    string                         `json:"executionNode"`
	PenaltyDuration                  string                         `json:"penaltyDuration"`
	YieldDuration                    string                         `json:"yieldDuration"`
	BulletinLevel                    string                         `json:"bulletinLevel"`
	RunDurationMillis                int64                          `json:"runDurationMillis"`
	ConcurrentlySchedulableTaskCount int                            `json:"concurrentlySchedulableTaskCount"`
	AutoTerminatedRelationships      []string                       `json:"autoTerminatedRelationships"`
	ScheduledState                   string                         `json:"scheduledState"`
	RetryCount                       int                            `json:"retryCount"`
	RetriedRelationships             []string                       `json:"retriedRelationships"`
	BackoffMechanism                 string                         `json:"backoffMechanism"`
	MaxBackoffPeriod                 string                         `json:"maxBackoffPeriod"`
	ComponentType                    string                         `json:"componentType"`
	GroupIdentifier                  string                         `json:"groupIdentifier"`
}

// Connectable is one end of a connection.
type Connectable struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	GroupID            string `json:"groupId"`
	Name               string `json:"name"`
	Comments           string `json:"comments"`
	InstanceIdentifier string `json:"instanceIdentifier"`
}

// Connection is a VersionedConnection.
type Connection struct {
	Identifier                    string      `json:"identifier"`
	InstanceIdentifier            string      `json:"instanceIdentifier"`
	Name                          string      `json:"name"`
	Source                        Connectable `json:"source"`
	Destination                   Connectable `json:"destination"`
	LabelIndex                    int         `json:"labelIndex"`
	ZIndex                        int         `json:"zIndex"`
	SelectedRelationships         []string    `json:"selectedRelationships"`
	BackPressureObjectThreshold   int64       `json:"backPressureObjectThreshold"`
	BackPressureDataSizeThreshold string      `json:"backPressureDataSizeThreshold"`
	FlowFileExpiration            string      `json:"flowFileExpiration"`
	Prioritizers                  []string    `json:"prioritizers"`
	Bends                         []Position  `json:"bends"`
	LoadBalanceStrategy           string      `json:"loadBalanceStrategy"`
	PartitioningAttribute         string      `json:"partitioningAttribute"`
	LoadBalanceCompression        string      `json:"loadBalanceCompression"`
	ComponentType                 string      `json:"componentType"`
	GroupIdentifier               string      `json:"groupIdentifier"`
}

// Funnel is a VersionedFunnel.
type Funnel struct {
	Identifier         string   `json:"identifier"`
	InstanceIdentifier string   `json:"instanceIdentifier"`
	Position           Position `json:"position"`
	ComponentType      string   `json:"componentType"`
	GroupIdentifier    string   `json:"groupIdentifier"`
}

// ServiceAPI is an interface a controller service implements.
type ServiceAPI struct {
	Type   string `json:"type"`
	Bundle Bundle `json:"bundle"`
}

// ControllerService is a VersionedControllerService.
type ControllerService struct {
	Identifier            string                         `json:"identifier"`
	InstanceIdentifier    string                         `json:"instanceIdentifier"`
	Name                  string                         `json:"name"`
	Comments              string                         `json:"comments"`
	Type                  string                         `json:"type"`
	Bundle                Bundle                         `json:"bundle"`
	Properties            map[string]string              `json:"properties"`
	PropertyDescriptors   map[string]*PropertyDescriptor `json:"propertyDescriptors"`
	ControllerServiceApis []ServiceAPI                   `json:"controllerServiceApis"`
	ScheduledState        string                         `json:"scheduledState"`
	BulletinLevel         string                         `json:"bulletinLevel"`
	ComponentType         string                         `json:"componentType"`
	GroupIdentifier       string                         `json:"groupIdentifier"`
}

// ParameterContext is a VersionedParameterContext.
type ParameterContext struct {
	Name                       string       `json:"name"`
	Parameters                 []*Parameter `json:"parameters"`
	InheritedParameterContexts []string     `json:"inheritedParameterContexts"`
	Description                string       `json:"description"`
	ComponentType              string       `json:"componentType"`
}

// Parameter is one parameter. A sensitive parameter never has a value: as in
// NiFi's own exports, the key is absent and the value is supplied at import.
type Parameter struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Sensitive   bool    `json:"sensitive"`
	Provided    bool    `json:"provided"`
	Value       *string `json:"value,omitempty"`
}
