package spark

import (
	"fmt"
	"regexp"
	"strings"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Environment variables of the OpenLineage Java client (its
// OpenLineageEnvParser): OPENLINEAGE__ then the config path, sections
// separated by "__"; key parts are lower-cased and snake_case becomes
// camelCase (API_KEY → apiKey); values keep their case but are read as
// JSON when they parse as JSON, else as a plain string.
const (
	envOLTransportType = "OPENLINEAGE__TRANSPORT__TYPE"
	envOLAuthType      = "OPENLINEAGE__TRANSPORT__AUTH__TYPE"
	envOLAuthAPIKey    = "OPENLINEAGE__TRANSPORT__AUTH__API_KEY"
)

// apiKey makes the listener send the API key of openlineage.apiKeySecret
// (transport.auth.type=api_key, transport.auth.apiKey) without the key
// appearing in any generated file: the driver gets OPENLINEAGE_API_KEY
// from the Secret (secretKeyRef) and the client's own environment
// variables for the auth section.
//
// Why the environment and not sparkConf: Spark does not substitute
// ${env:…} in arbitrary keys, and the listener's ArgumentParser reads
// OPENLINEAGE__* variables as the base that spark.openlineage.* overrides
// field by field (HttpConfig.mergeWithNonNull). So sparkConf keeps the
// url and endpoint, the environment adds auth, and no
// spark.openlineage.transport.auth.* key may be set: it would replace the
// whole auth section with one that has no key. The transport type is in the
// environment too, as the client cannot read a transport without one.
//
// The key variable's value is the JSON string "$(OPENLINEAGE_API_KEY)",
// which Kubernetes expands from the variable defined before it (SortEnv
// orders OPENLINEAGE_API_KEY first) and the client reads back exactly,
// whatever the key looks like (a bare 1.50 or null would otherwise be read
// as JSON), unless the key holds a " or \ or a control character.
func (a *appBuilder) apiKey(transport string) {
	ref := a.opts.Setting(openlineage.SetAPIKeySecret, "")
	if ref == "" {
		return
	}
	e, err := apiKeyEnv(ref)
	if err != nil {
		a.diags = a.diags.Append(diag.Errorf(diag.SparkLineageSettings, a.pl.Pos, "Invalid OpenLineage API key Secret",
			"%s: %v.", openlineage.SetAPIKeySecret, err))
		return
	}
	if transport != "http" {
		return // only the http transport authenticates
	}
	a.olEnv = []k8s.EnvVar{e,
		{Name: envOLTransportType, Value: "http"},
		{Name: envOLAuthType, Value: "api_key"},
		{Name: envOLAuthAPIKey, Value: `"$(` + openlineage.APIKeyEnv + `)"`},
	}
}

// apiKeyEnv is OPENLINEAGE_API_KEY from the Secret key <secret>/<key>.
func apiKeyEnv(ref string) (k8s.EnvVar, error) {
	name, key, ok := strings.Cut(ref, "/")
	if !ok {
		return k8s.EnvVar{}, fmt.Errorf("%q is not <secret>/<key>", ref)
	}
	return k8s.SecretEnv(&ir.Secret{Name: name, Key: key, Env: openlineage.APIKeyEnv})
}

// versionRe reads a Spark version, or an image tag that starts with one
// (3.5.3, 4.0.4-python3, v3.5.1-scala2.12-java17-ubuntu).
var versionRe = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-_+.].*)?$`)

// majorMinor is the "major.minor" of a version or version-like tag, or "".
func majorMinor(v string) string {
	m := versionRe.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	return m[1] + "." + m[2]
}

// imageTag is the tag of an image reference ("" when there is none).
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndexByte(image, '/'); i >= 0 {
		image = image[i+1:]
	}
	_, tag, _ := strings.Cut(image, ":")
	return tag
}

// checkImage warns when the image tag names a Spark release line other
// than sparkVersion's: the operator, the Spark SQL the program runs and
// its packages (Scala 2.13 builds of sparkVersion) all follow
// sparkVersion, so such an image would fail at run time. Only a warning:
// a tag is a name, which may follow another numbering.
func (a *appBuilder) checkImage() {
	img := a.image()
	tag := imageTag(img)
	have := majorMinor(tag)
	ver := a.opts.Setting(SetVersion, DefaultVersion)
	want := majorMinor(ver)
	if have == "" || want == "" || have == want {
		return
	}
	field, pos := "deploy.image", a.pl.Deploy.ImagePos
	if a.pl.Deploy.Image == "" || !pos.IsValid() {
		pos = a.pl.Pos
	}
	if a.pl.Deploy.Image == "" {
		field = SetImage
	}
	a.diags = a.diags.Append(diag.Warningf(diag.SparkImageVersion, pos, "Image tag disagrees with sparkVersion",
		"Pipeline %q: %s %q is tagged %s, which looks like Spark %s, but the application targets sparkVersion %s, which the operator, the program's Spark SQL and its packages (%s%s, …) follow. Use an image of Spark %s, or set %s to the image's Spark version.",
		a.pl.Name, field, img, tag, have, ver, pkgKafka, ver, want, SetVersion))
}
