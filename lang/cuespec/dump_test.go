package cuespec

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// dump renders a spec.File compactly, one value a line with its position,
// for golden files and debugging. Zero values are left out.
func dump(f *spec.File) string {
	var b strings.Builder
	dumpValue(&b, "", reflect.ValueOf(*f), 0)
	return b.String()
}

var (
	rangeType = reflect.TypeOf(diag.Range{})
	strType   = reflect.TypeOf(spec.String{})
	exprType  = reflect.TypeOf(spec.Expr{})
)

func at(r diag.Range) string {
	if !r.IsValid() {
		return ""
	}
	if strings.HasPrefix(r.Filename, "rtsap.dev/rtsap/") {
		// Schema lines move whenever the schema is edited.
		return " @" + r.Filename
	}
	return fmt.Sprintf(" @%s:%d:%d-%d:%d", r.Filename, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
}

func dumpValue(b *strings.Builder, name string, v reflect.Value, depth int) {
	ind := strings.Repeat("  ", depth)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		dumpValue(b, name, v.Elem(), depth)
		return
	}
	switch v.Type() {
	case strType:
		s := v.Interface().(spec.String)
		if s.Value == "" && !s.Range.IsValid() {
			return
		}
		fmt.Fprintf(b, "%s%s: %q%s\n", ind, name, s.Value, at(s.Range))
		return
	case exprType:
		e := v.Interface().(spec.Expr)
		if e.Text == "" && !e.Range.IsValid() {
			return
		}
		fmt.Fprintf(b, "%s%s: expr %q%s q%d", ind, name, e.Text, at(e.Range), e.QuoteLen)
		for _, s := range e.Spans {
			fmt.Fprintf(b, " [%d→%d:%d]", s.Off, s.Pos.Line, s.Pos.Column)
		}
		b.WriteByte('\n')
		return
	case rangeType:
		r := v.Interface().(diag.Range)
		if r.IsValid() {
			fmt.Fprintf(b, "%s%s:%s\n", ind, name, at(r))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.IsZero() {
			return
		}
		if name != "" {
			fmt.Fprintf(b, "%s%s:\n", ind, name)
			depth++
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.Name == "Sources" || f.Name == "Root" {
				continue
			}
			dumpValue(b, f.Name, v.Field(i), depth)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if !v.IsNil() {
				fmt.Fprintf(b, "%s%s: []\n", ind, name)
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			dumpValue(b, fmt.Sprintf("%s[%d]", name, i), v.Index(i), depth)
		}
	case reflect.Map:
		fmt.Fprintf(b, "%s%s: map(%d)\n", ind, name, v.Len())
	default:
		if v.IsZero() {
			return
		}
		fmt.Fprintf(b, "%s%s: %v\n", ind, name, v.Interface())
	}
}

func TestDumpScratch(t *testing.T) {
	dir := os.Getenv("DUMP_DIR")
	if dir == "" {
		t.Skip("set DUMP_DIR to dump a spec")
	}
	f, ds := Load(&Config{Dir: dir, Env: os.Getenv("DUMP_ENV")}, []string{"./..."})
	for _, d := range ds {
		t.Log(d.Error())
	}
	fmt.Print(dump(f))
}
