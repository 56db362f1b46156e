package flink

import (
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

const (
	olConfigMount = "/opt/rtsap/openlineage"
	olConfigFile  = "openlineage.yml"
	olConfigEnv   = "OPENLINEAGE_CONFIG" // the Java client's config file path
)

// apiKey reads openlineage.apiKeySecret: with the http transport the
// listener sends the key (transport.auth.type=api_key,
// transport.auth.apiKey), which must appear in no generated file.
//
// The Flink listener (FlinkConfigParser) reads its configuration from the
// Flink configuration's openlineage.* keys over an openlineage.yml file
// (OPENLINEAGE_CONFIG, else the working or home directory); unlike the
// Spark listener it ignores OPENLINEAGE__* environment variables, and
// Flink does not substitute environment variables in its configuration.
// So an init container writes the auth section into an openlineage.yml
// from the Secret (secretKeyRef), on a memory-backed emptyDir, and the
// main container points OPENLINEAGE_CONFIG at it; flinkConfiguration
// keeps the url and endpoint, which override the file field by field
// (HttpConfig.mergeWithNonNull), and must set no openlineage.transport.auth.*
// key (it would replace the file's auth section with one without the key).
// The pod template is shared by the JobManager, where the listener runs,
// and the TaskManagers (per-component templates merge arrays by index).
func (d *deployment) apiKey(transport string) {
	ref := d.opts.Setting(openlineage.SetAPIKeySecret, "")
	if ref == "" {
		return
	}
	name, key, ok := strings.Cut(ref, "/")
	var e k8s.EnvVar
	err := fmt.Errorf("%q is not <secret>/<key>", ref)
	if ok {
		e, err = k8s.SecretEnv(&ir.Secret{Name: name, Key: key, Env: openlineage.APIKeyEnv})
	}
	if err != nil {
		d.diags = d.diags.Append(diag.Errorf(diag.FlinkLineageSettings, d.pl.Pos, "Invalid OpenLineage API key Secret",
			"%s: %v.", openlineage.SetAPIKeySecret, err))
		return
	}
	if transport == "http" { // only the http transport authenticates
		d.olKey = &e
	}
}

// lineagePod adds the listener's API key file to the pod template.
func (d *deployment) lineagePod(spec *PodSpec, main *Container) {
	if d.olKey == nil {
		return
	}
	spec.InitContainers = append(spec.InitContainers, Container{
		Name: "render-openlineage", Image: d.image(), Command: []string{"/bin/bash", "-c", olConfigScript()},
		Env:          []k8s.EnvVar{*d.olKey},
		VolumeMounts: []VolumeMount{{Name: "openlineage", MountPath: olConfigMount}},
	})
	spec.Volumes = append(spec.Volumes, Volume{Name: "openlineage", EmptyDir: &EmptyDir{Medium: "Memory"}})
	main.Env = k8s.SortEnv(append(main.Env, k8s.EnvVar{Name: olConfigEnv, Value: olConfigMount + "/" + olConfigFile}))
	main.VolumeMounts = append(main.VolumeMounts, VolumeMount{Name: "openlineage", MountPath: olConfigMount, ReadOnly: true})
}

// olConfigScript is the init container's bash program: the client
// configuration with the key as a YAML double-quoted scalar (\ and "
// escaped). It refuses an empty key and control characters (a key file's
// trailing line break) rather than start a listener that sends a wrong key.
func olConfigScript() string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "k=$%s\n", openlineage.APIKeyEnv)
	fmt.Fprintf(&b, "case \"$k\" in ''|*[[:cntrl:]]*) echo \"%s is empty or holds a control character (a line break?)\" >&2; exit 1;; esac\n", openlineage.APIKeyEnv)
	b.WriteString("k=${k//\\\\/\\\\\\\\}; k=${k//\\\"/\\\\\\\"}\n")
	fmt.Fprintf(&b, "printf 'transport:\\n  type: http\\n  auth:\\n    type: api_key\\n    apiKey: \"%%s\"\\n' \"$k\" > %s/%s\n", olConfigMount, olConfigFile)
	return b.String()
}
