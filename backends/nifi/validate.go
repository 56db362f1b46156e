package nifi

import (
	"fmt"
	"regexp"
	"sort"
)

// relationships of the processor types the backend emits (from each
// processor's @Relationship declarations); QueryRecord adds one per dynamic
// property.
var relationships = map[string][]string{
	"org.apache.nifi.kafka.processors.ConsumeKafka":         {relSuccess, relParseFailure},
	"org.apache.nifi.kafka.processors.PublishKafka":         {relSuccess, relFailure},
	"org.apache.nifi.processors.standard.InvokeHTTP":        {"Original", "Response", "Retry", "No Retry", "Failure"},
	"org.apache.nifi.processors.standard.QueryRecord":       {relOriginal, relFailure},
	"org.apache.nifi.processors.standard.ConvertRecord":     {relSuccess, relFailure},
	"org.apache.nifi.processors.standard.PutDatabaseRecord": {relSuccess, relFailure, relRetry},
	"org.apache.nifi.processors.mongodb.PutMongoRecord":     {relSuccess, relFailure},
	"org.apache.nifi.processors.aws.s3.PutS3Object":         {relSuccess, relFailure},
	"org.apache.nifi.processors.standard.GenerateFlowFile":  {relSuccess},
	"org.apache.nifi.processors.attributes.UpdateAttribute": {relSuccess, "set state fail"},
	"org.apache.nifi.processors.standard.RouteOnAttribute":  {"unmatched"},
	"org.apache.nifi.processors.standard.EvaluateJsonPath":  {"matched", "unmatched", relFailure},
}

var paramRef = regexp.MustCompile(`#\{([^}]*)\}`)

// Validate checks a snapshot against the structure NiFi requires of a flow
// definition (../shared/schemas/nifi/FORMAT.md): unique identifiers;
// connections between components of the group, with relationships the
// source has; every relationship connected or auto-terminated; service
// properties naming services of the group; parameter references naming
// parameters of the group's context; sensitive properties holding only
// parameter references, and sensitive parameters no value. It returns one
// message per problem, sorted.
func Validate(s *Snapshot) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if s.FlowEncodingVersion != "1.0" {
		bad("flowEncodingVersion %q, want 1.0", s.FlowEncodingVersion)
	}
	g := s.FlowContents
	if g == nil {
		return []string{"no flowContents"}
	}
	if g.ComponentType != "PROCESS_GROUP" {
		bad("flowContents.componentType %q", g.ComponentType)
	}
	ids := map[string]string{}
	claim := func(id, what string) {
		if id == "" {
			bad("%s without identifier", what)
			return
		}
		if prev, ok := ids[id]; ok {
			bad("identifier %s used by %s and %s", id, prev, what)
		}
		ids[id] = what
	}
	claim(g.Identifier, "the process group")
	procs := map[string]*Processor{}
	for _, p := range g.Processors {
		claim(p.Identifier, "processor "+p.Name)
		procs[p.Identifier] = p
		if p.GroupIdentifier != g.Identifier {
			bad("processor %q: groupIdentifier is not the group", p.Name)
		}
		if p.Type == "" || p.Bundle.Group == "" || p.Bundle.Artifact == "" || p.Bundle.Version == "" {
			bad("processor %q: type or bundle missing", p.Name)
		}
		if p.ComponentType != "PROCESSOR" {
			bad("processor %q: componentType %q", p.Name, p.ComponentType)
		}
	}
	funnels := map[string]bool{}
	for _, f := range g.Funnels {
		claim(f.Identifier, "funnel")
		funnels[f.Identifier] = true
	}
	services := map[string]bool{}
	for _, cs := range g.ControllerServices {
		claim(cs.Identifier, "controller service "+cs.Name)
		services[cs.Identifier] = true
		if len(cs.ControllerServiceApis) == 0 {
			bad("controller service %q implements no API", cs.Name)
		}
	}
	params := map[string]*Parameter{}
	if g.ParameterContextName != "" {
		ctx, ok := s.ParameterContexts[g.ParameterContextName]
		if !ok {
			bad("parameter context %q is not in parameterContexts", g.ParameterContextName)
		} else {
			for _, p := range ctx.Parameters {
				if _, dup := params[p.Name]; dup {
					bad("parameter %q twice", p.Name)
				}
				params[p.Name] = p
				if p.Sensitive && p.Value != nil {
					bad("sensitive parameter %q carries a value", p.Name)
				}
			}
		}
	}
	checkProps := func(owner string, props map[string]string, descs map[string]*PropertyDescriptor) {
		for _, k := range sortedKeys(props) {
			v := props[k]
			d, ok := descs[k]
			if !ok {
				bad("%s: property %q has no descriptor", owner, k)
				continue
			}
			refs := paramRefs(v)
			for _, r := range refs {
				p, ok := params[r]
				switch {
				case !ok:
					bad("%s: property %q references unknown parameter %q", owner, k, r)
				case p.Sensitive != d.Sensitive:
					bad("%s: property %q (sensitive %v) references parameter %q (sensitive %v)", owner, k, d.Sensitive, r, p.Sensitive)
				}
			}
			if d.Sensitive && (len(refs) != 1 || v != "#{"+refs[0]+"}") {
				bad("%s: sensitive property %q holds a literal", owner, k)
			}
			if d.IdentifiesControllerService && !services[v] {
				bad("%s: property %q names no controller service of the group", owner, k)
			}
		}
	}
	for _, p := range g.Processors {
		checkProps("processor "+p.Name, p.Properties, p.PropertyDescriptors)
	}
	for _, cs := range g.ControllerServices {
		checkProps("controller service "+cs.Name, cs.Properties, cs.PropertyDescriptors)
	}
	taken := map[string]map[string]bool{}
	for _, c := range g.Connections {
		claim(c.Identifier, "connection")
		for _, end := range []Connectable{c.Source, c.Destination} {
			if end.GroupID != g.Identifier {
				bad("connection %s: end %s in group %s, not this group", c.Identifier, end.ID, end.GroupID)
			}
			switch end.Type {
			case "PROCESSOR":
				if procs[end.ID] == nil {
					bad("connection %s: no processor %s", c.Identifier, end.ID)
				}
			case "FUNNEL":
				if !funnels[end.ID] {
					bad("connection %s: no funnel %s", c.Identifier, end.ID)
				}
			default:
				bad("connection %s: end type %s", c.Identifier, end.Type)
			}
		}
		if c.Source.Type == "PROCESSOR" {
			if len(c.SelectedRelationships) == 0 {
				bad("connection %s from a processor selects no relationship", c.Identifier)
			}
			if p := procs[c.Source.ID]; p != nil {
				for _, r := range c.SelectedRelationships {
					if !hasRel(p, r) {
						bad("connection %s selects %q, which processor %q does not have", c.Identifier, r, p.Name)
					}
					if taken[p.Identifier] == nil {
						taken[p.Identifier] = map[string]bool{}
					}
					taken[p.Identifier][r] = true
				}
			}
		}
	}
	for _, p := range g.Processors {
		auto := map[string]bool{}
		for _, r := range p.AutoTerminatedRelationships {
			auto[r] = true
			if taken[p.Identifier][r] {
				bad("processor %q: relationship %q both connected and auto-terminated", p.Name, r)
			}
		}
		for _, r := range procRels(p) {
			if !auto[r] && !taken[p.Identifier][r] {
				bad("processor %q: relationship %q is neither connected nor auto-terminated", p.Name, r)
			}
		}
	}
	sort.Strings(errs)
	return errs
}

func procRels(p *Processor) []string {
	rels := append([]string(nil), relationships[p.Type]...)
	if p.Type == "org.apache.nifi.processors.standard.QueryRecord" || p.Type == "org.apache.nifi.processors.standard.RouteOnAttribute" {
		for _, k := range sortedKeys(p.Properties) {
			if d := p.PropertyDescriptors[k]; d != nil && d.Dynamic {
				rels = append(rels, k)
			}
		}
	}
	return rels
}

func hasRel(p *Processor, r string) bool {
	for _, x := range procRels(p) {
		if x == r {
			return true
		}
	}
	return false
}

// paramRefs lists the parameter names a value references as NiFi reads it
// (an odd run of '#' before "{name}").
func paramRefs(v string) []string {
	var out []string
	for _, m := range paramRef.FindAllStringSubmatchIndex(v, -1) {
		n := 0
		for i := m[0] - 1; i >= 0 && v[i] == '#'; i-- {
			n++
		}
		if n%2 == 0 { // the '#' at m[0] plus an even run before it: a reference
			out = append(out, v[m[2]:m[3]])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
