// Package cuespec is the CUE front-end: it loads CUE packages, unifies them
// with the embedded rtsap schema and decodes them into the spec model.
//
// # Loading
//
// Load takes directories, .cue files, or patterns such as ./... . Each
// argument is loaded from its CUE module root: the nearest directory above
// it holding a cue.mod, or else the argument's own directory. The embedded
// schema (package stdlib) is overlaid at <root>/cue.mod/pkg/rtsap.dev/rtsap
// — replacing whatever `rtsapc init` wrote there, so the binary and its
// schema always agree — and <root>/cue.mod/module.cue is overlaid when the
// user has none. No registry or network is used.
//
// Each entry of pipelines, workflows and environments is unified with
// rtsap.#Pipeline, #Workflow or #Environment when the user did not write it
// so, then the package is validated as concrete, as `cue export` would.
//
// # Environments
//
// With Config.Env set to e, environments[e] must exist, and its pipelines
// and workflows fields are unified (CUE &, not override) into the top-level
// pipelines and workflows of the same names before validation. A value meant
// to differ per environment is therefore written as a default in the base
// (`parallelism: *2 | int`), which the overlay then fixes (`parallelism: 8`).
// Every environment is decoded into spec.File.Environments either way.
//
// # Diagnostics
//
// A CUE error becomes a diagnostic at the user's value on the line of the
// deepest field of its path that the user wrote (else at that field's
// label, else at the first user position); file names are relative to
// Config.Dir, schema positions read rtsap.dev/rtsap/…. CUE's dumps are
// replaced by rtsapc's words where they are recognised: a `from` (or join
// side) that names no stream of its pipeline becomes UnknownNode with a
// suggestion; a record type outside the grammar, BadTypeString at the
// offending byte of the string; a bad duration, BadDuration; a value
// outside an enumeration, the list of allowed values with a suggestion; an
// unknown field, the closest field the schema has; a window that is none of
// the four kinds, one "Invalid window". Errors that only echo another (a
// disjunction's header, a reference that fails because the pipeline's names
// cannot be listed) are dropped.
package cuespec

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
	"rtsap.dev/rtsapc/stdlib"
)

// Config controls loading; the zero value loads relative to the current
// directory.
type Config struct {
	// Dir is the working directory (default: os.Getwd()).
	Dir string
	// Env selects environments.<name> to unify into the spec ("" = none).
	Env string
}

// Load loads the packages named by args (directories, .cue files, or
// patterns such as ./...) and returns the spec model with every problem.
func Load(cfg *Config, args []string) (f *spec.File, ds diag.Diagnostics) {
	f = &spec.File{Sources: diag.Sources{}}
	defer func() {
		if r := recover(); r != nil {
			ds = append(ds, diag.Errorf(diag.InternalError, diag.Range{}, "Internal error in the CUE front-end",
				"the loader panicked: %v\n%s", r, debug.Stack()))
		}
	}()
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return f, diag.Diagnostics{diag.Errorf(diag.FailedLoad, diag.Range{}, "Cannot read the working directory", "%v", err)}
		}
		c.Dir = wd
	}
	if abs, err := filepath.Abs(c.Dir); err == nil {
		c.Dir = abs
	}
	f.Root = c.Dir
	if len(args) == 0 {
		args = []string{"."}
	}
	l := &loader{cfg: c, file: f}
	l.run(args)
	return f, l.ds
}

type loader struct {
	cfg  Config
	file *spec.File
	ds   diag.Diagnostics
	ctx  *cue.Context
	// names caches streamNames by pipeline during one convertErr.
	names map[string][]string
}

// group is the args that share a module root.
type group struct {
	root     string
	hasMod   bool
	patterns []string // relative to root, as load.Instances wants them
}

func (l *loader) run(args []string) {
	var groups []*group
	byRoot := map[string]*group{}
	for _, a := range args {
		abs := a
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(l.cfg.Dir, a)
		}
		recursive := false
		if strings.HasSuffix(abs, string(filepath.Separator)+"...") || abs == "..." {
			recursive = true
			abs = strings.TrimSuffix(abs, "...")
		}
		abs = filepath.Clean(abs)
		st, err := os.Stat(abs)
		if err != nil {
			l.ds = append(l.ds, diag.Errorf(diag.FailedLoad, diag.Range{}, "Cannot read "+quoteName(a), "%v", errText(err)))
			continue
		}
		dir := abs
		if !st.IsDir() {
			if !strings.HasSuffix(abs, ".cue") {
				l.ds = append(l.ds, diag.Errorf(diag.FailedLoad, diag.Range{}, "Not a CUE file: "+quoteName(a),
					"Arguments are directories, .cue files, or patterns such as ./..."))
				continue
			}
			dir = filepath.Dir(abs)
		}
		root, hasMod := moduleRoot(dir)
		g := byRoot[root]
		if g == nil {
			g = &group{root: root, hasMod: hasMod}
			byRoot[root] = g
			groups = append(groups, g)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			rel = abs
		}
		p := "./" + filepath.ToSlash(rel)
		if rel == "." {
			p = "."
		}
		if recursive {
			p = strings.TrimSuffix(p, "/.") + "/..."
			if p == "./..." || p == "/..." {
				p = "./..."
			}
		}
		g.patterns = append(g.patterns, p)
	}
	l.ctx = cuecontext.New()
	for _, g := range groups {
		l.loadGroup(g)
	}
}

// moduleRoot returns the nearest directory at or above dir with a cue.mod
// directory, or dir itself.
func moduleRoot(dir string) (string, bool) {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil && st.IsDir() {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir, false
		}
		d = parent
	}
}

const schemaPkgDir = "cue.mod/pkg/" + stdlib.Module

// defaultModule is the module file overlaid when the user has none.
const defaultModule = "module: \"rtsap.local/spec\"\nlanguage: version: \"v0.17.0\"\n"

// Overlay returns the files that make `import "rtsap.dev/rtsap"` resolve
// under root: the embedded schema at cue.mod/pkg/rtsap.dev/rtsap/… and, when
// withModule, cue.mod/module.cue. Keys are slash-separated paths relative
// to root.
func Overlay(withModule bool) map[string][]byte {
	out, _ := overlay(withModule, false)
	return out
}

// refConstraint is how the schema (stdlib/pipeline.cue) constrains a
// reference to the names of its pipeline; looseRef replaces it in the
// recovery evaluation (see [loader.recover]).
const (
	refConstraint = "#Ref: =~_refPattern"
	looseRef      = "#Ref: string"
)

// overlay is Overlay; with loose, every `from` accepts any string, and ok
// reports whether the schema still had refConstraint to loosen.
func overlay(withModule, loose bool) (map[string][]byte, bool) {
	out := map[string][]byte{}
	found := false
	_ = fs.WalkDir(stdlib.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".cue") || strings.HasPrefix(p, "cue.mod/") {
			return nil
		}
		b, err := stdlib.FS.ReadFile(p)
		if err == nil {
			if loose && bytes.Contains(b, []byte(refConstraint)) {
				b = bytes.ReplaceAll(b, []byte(refConstraint), []byte(looseRef))
				found = true
			}
			out[schemaPkgDir+"/"+p] = b
		}
		return nil
	})
	if withModule {
		out["cue.mod/module.cue"] = []byte(defaultModule)
	}
	return out, found
}

func (l *loader) loadGroup(g *group) {
	withModule := true
	if g.hasMod {
		if _, err := os.Stat(filepath.Join(g.root, "cue.mod", "module.cue")); err == nil {
			withModule = false
		}
	}
	config := func(loose bool) (*load.Config, bool) {
		files, ok := overlay(withModule, loose)
		ov := map[string]load.Source{}
		for rel, b := range files {
			ov[filepath.Join(g.root, filepath.FromSlash(rel))] = load.FromBytes(b)
		}
		return &load.Config{Dir: g.root, ModuleRoot: g.root, Overlay: ov}, ok
	}
	lc, _ := config(false)
	insts := load.Instances(g.patterns, lc)
	pm := &posMap{loader: l, root: g.root}
	schema := &lazySchema{load: func() schemaDefs { return l.specSchema(lc) }}
	// The loose instances are loaded the first time a package has errors.
	var loose []*build.Instance
	var looseSchema *lazySchema
	looseLoaded := false
	looseOf := func(i int) (*build.Instance, *lazySchema) {
		if !looseLoaded {
			looseLoaded = true
			if llc, ok := config(true); ok {
				loose = load.Instances(g.patterns, llc)
				looseSchema = &lazySchema{load: func() schemaDefs { return l.specSchema(llc) }}
			}
		}
		if i >= len(loose) || loose[i].Dir != insts[i].Dir || loose[i].ImportPath != insts[i].ImportPath {
			return nil, nil
		}
		return loose[i], looseSchema
	}
	for i, inst := range insts {
		l.loadInstance(inst, pm, schema, func() (*build.Instance, *lazySchema) { return looseOf(i) })
	}
}

// schemaDefs are the definitions a package's top-level sections are
// checked against.
type schemaDefs struct {
	pipeline, workflow, environment cue.Value
	ok                              bool
}

// specSchema loads rtsap.#Pipeline, #Workflow and #Environment, which the
// entries of pipelines, workflows and environments are unified with when
// the user did not write them so (pipelines: x: {…} without
// rtsap.#Pipeline): they are checked all the same.
func (l *loader) specSchema(lc *load.Config) schemaDefs {
	insts := load.Instances([]string{stdlib.Module}, lc)
	if len(insts) != 1 || insts[0].Err != nil {
		return schemaDefs{}
	}
	v := l.ctx.BuildInstance(insts[0])
	d := schemaDefs{
		pipeline:    v.LookupPath(cue.MakePath(cue.Def("#Pipeline"))),
		workflow:    v.LookupPath(cue.MakePath(cue.Def("#Workflow"))),
		environment: v.LookupPath(cue.MakePath(cue.Def("#Environment"))),
	}
	d.ok = d.pipeline.Exists() && d.workflow.Exists() && d.environment.Exists()
	return d
}

// applySchema unifies each entry of pipelines, workflows and environments
// with its definition, unless the entry already carries it (a marker
// hidden field of the schema: _refPattern, _steps, _environment):
// unifying #Pipeline twice doubles the evaluation of a large pipeline.
func (l *loader) applySchema(v cue.Value, ls *lazySchema) cue.Value {
	if v.IncompleteKind() != cue.StructKind {
		return v
	}
	for _, sect := range []struct {
		name   string
		def    func(schemaDefs) cue.Value
		marker string
	}{
		{"pipelines", func(s schemaDefs) cue.Value { return s.pipeline }, "_refPattern"},
		{"workflows", func(s schemaDefs) cue.Value { return s.workflow }, "_steps"},
		{"environments", func(s schemaDefs) cue.Value { return s.environment }, "_environment"},
	} {
		for _, f := range fields(lookup(v, sect.name), false) {
			if f.v.LookupPath(cue.MakePath(cue.Hid(sect.marker, stdlib.Module))).Exists() {
				continue
			}
			s := ls.get()
			if !s.ok {
				return v
			}
			v = v.FillPath(cue.MakePath(cue.Str(sect.name), cue.Str(f.name)), sect.def(s))
		}
	}
	return v
}

// lazySchema loads the schema's definitions the first time an entry needs
// them (most specs write rtsap.#Pipeline & {…} and never do).
type lazySchema struct {
	load func() schemaDefs
	done bool
	defs schemaDefs
}

func (ls *lazySchema) get() schemaDefs {
	if !ls.done {
		ls.defs, ls.done = ls.load(), true
	}
	return ls.defs
}

// loadInstance evaluates one package and decodes it. When the package has
// errors, the model is still decoded (a partial one): what is valid is
// kept, and every pipeline, node, workflow or step with an error of its
// own is marked Invalid so that the compiler reports the rest of the
// problems without repeating or cascading from these.
//
// A reference (`from`) is checked by a pattern of its pipeline's names,
// which CUE cannot compute while any source or transform of the pipeline
// is in error: every reference of that pipeline then fails too, and CUE
// does not look further into the nodes holding them (a misspelt field
// there goes unreported). So when the package has errors it is evaluated
// a second time with references loosened to strings (looseOf); that
// evaluation's new diagnostics are added, and the model is decoded from
// it. Packages without errors are evaluated once.
func (l *loader) loadInstance(inst *build.Instance, pm *posMap, schema *lazySchema, looseOf func() (*build.Instance, *lazySchema)) {
	for _, bf := range inst.BuildFiles {
		l.addSource(pm, bf.Filename)
	}
	if inst.Err != nil {
		l.ds = append(l.ds, l.convertErr(inst.Err, pm, cue.Value{}, diag.FailedLoad)...)
		return
	}
	for _, af := range inst.Files {
		pm.index(af)
	}
	v := l.applySchema(l.ctx.BuildInstance(inst), schema)
	withEnv := l.cfg.Env != "" && v.Err() == nil
	if withEnv {
		v = l.applyEnv(v, pm)
	}
	err := validate(v)
	d := &decoder{l: l, pm: pm}
	if err != nil {
		ds := l.convertErr(err, pm, v, diag.ConflictingValues)
		l.ds = append(l.ds, ds...)
		d.poison(ds)
		if inst2, schema2 := looseOf(); inst2 != nil && inst2.Err == nil {
			v2, ds2 := l.recover(inst2, pm, schema2, withEnv)
			l.ds = append(l.ds, newOnly(ds2, ds)...)
			d.poison(ds2)
			v = v2
		}
	}
	d.decodeFile(v)
}

// validate checks v as `cue export` would.
func validate(v cue.Value) error {
	err := v.Validate(cue.Concrete(true))
	if err == nil {
		err = v.Err()
	}
	return err
}

// recover evaluates the loose instance of a package that has errors and
// returns it with its diagnostics.
func (l *loader) recover(inst *build.Instance, pm *posMap, schema *lazySchema, withEnv bool) (cue.Value, diag.Diagnostics) {
	for _, af := range inst.Files {
		pm.index(af)
	}
	v := l.applySchema(l.ctx.BuildInstance(inst), schema)
	if withEnv {
		// Its problems were reported by the first evaluation.
		n := len(l.ds)
		v = l.applyEnv(v, pm)
		l.ds = l.ds[:n]
	}
	var ds diag.Diagnostics
	if err := validate(v); err != nil {
		ds = l.convertErr(err, pm, v, diag.ConflictingValues)
	}
	return v, ds
}

// newOnly returns the diagnostics of later that earlier does not already
// hold at the same position with the same code (or, without a position,
// the same code and text).
func newOnly(later, earlier diag.Diagnostics) diag.Diagnostics {
	type key struct {
		code            diag.Code
		file            string
		line, col       int
		summary, detail string
	}
	k := func(d *diag.Diagnostic) key {
		if d.Subject == nil {
			return key{code: d.Code, summary: d.Summary, detail: d.Detail}
		}
		return key{code: d.Code, file: d.Subject.Filename, line: d.Subject.Start.Line, col: d.Subject.Start.Column}
	}
	seen := map[key]bool{}
	for _, d := range earlier {
		seen[k(d)] = true
	}
	var out diag.Diagnostics
	for _, d := range later {
		if !seen[k(d)] {
			seen[k(d)] = true
			out = append(out, d)
		}
	}
	return out
}

// addSource records the bytes of a user file under its display name.
func (l *loader) addSource(pm *posMap, filename string) {
	if filename == "" || filename == "-" {
		return
	}
	name := pm.display(filename)
	if _, ok := l.file.Sources[name]; ok {
		return
	}
	if strings.HasPrefix(name, stdlib.Module+"/") {
		return
	}
	b, err := os.ReadFile(filename)
	if err != nil {
		return
	}
	l.file.Sources[name] = b
}

// applyEnv unifies environments[env].pipelines and .workflows into the
// top-level ones.
func (l *loader) applyEnv(v cue.Value, pm *posMap) cue.Value {
	envs := v.LookupPath(cue.MakePath(cue.Str("environments")))
	e := envs.LookupPath(cue.MakePath(cue.Str(l.cfg.Env)))
	if !e.Exists() {
		var names []string
		if it, err := envs.Fields(); err == nil {
			for it.Next() {
				if it.Selector().LabelType() == cue.StringLabel {
					names = append(names, it.Selector().Unquoted())
				}
			}
		}
		detail := fmt.Sprintf("No environments.%s in the spec (environments: %s).", quoteName(l.cfg.Env), strings.Join(names, ", "))
		if len(names) == 0 {
			detail = fmt.Sprintf("The spec defines no environments, so --env %s cannot be applied.", l.cfg.Env)
		}
		l.ds = append(l.ds, diag.Errorf(diag.UnknownEnvironment, diag.Range{}, "Unknown environment "+quoteName(l.cfg.Env),
			"%s%s", detail, diag.DidYouMean(l.cfg.Env, names)))
		return v
	}
	for _, sect := range []string{"pipelines", "workflows"} {
		ov := e.LookupPath(cue.MakePath(cue.Str(sect)))
		if !ov.Exists() {
			continue
		}
		// An overlay of a pipeline or workflow the spec lacks would
		// create a fragment of one.
		var have []string
		for _, f := range fields(lookup(v, sect), false) {
			have = append(have, f.name)
		}
		for _, f := range fields(ov, false) {
			if !contains(have, f.name) {
				d := diag.Errorf(diag.InvalidSpec, pm.labelOf(f.v, f.name), "Overlay of an unknown "+strings.TrimSuffix(sect, "s"),
					"environments.%s.%s.%s names no entry of %s.%s", quoteName(l.cfg.Env), sect, quoteName(f.name), sect, diag.DidYouMean(f.name, have))
				d.Path = []string{"environments", l.cfg.Env, sect, f.name}
				l.ds = append(l.ds, d)
				continue
			}
			v = v.FillPath(cue.MakePath(cue.Str(sect), cue.Str(f.name)), f.v)
		}
	}
	return v
}

// quoteName quotes s unless it is a plain name or path ([A-Za-z0-9_#./-]).
func quoteName(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_#./-") == "" {
		return s
	}
	return strconv.Quote(s)
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
