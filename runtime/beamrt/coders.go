package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(Rec{}), encodeRec, decodeRec)
	beam.RegisterCoder(reflect.TypeOf((*Accum)(nil)), encodeAccum, decodeAccum)
}

// Rec is the element type of every PCollection of rows. Beam Go infers
// coders for slice types structurally (an iterable of interface{} has no
// coder), so a row travels wrapped in a struct with a registered coder.
//
// WM is the source watermark (Unix ms) when the row was read, carried
// through stateless operators so an aggregate can tell a late row
// deterministically; MinInt64 when unknown.
type Rec struct {
	Row row.Row
	WM  int64
}

func encodeRec(r Rec) []byte { return binary.AppendVarint(row.Encode(nil, r.Row), r.WM) }

func decodeRec(b []byte) (Rec, error) {
	r, rest, err := row.Decode(b)
	if err != nil {
		return Rec{}, err
	}
	wm, k := binary.Varint(rest)
	if k <= 0 {
		wm = math.MinInt64
	}
	return Rec{Row: r, WM: wm}, nil
}

// Accum is the accumulator of an aggregate node: one state per aggregate
// call (slot).
type Accum struct {
	S []*expr.State
}

func encodeAccum(a *Accum) []byte {
	var b []byte
	if a == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(a.S)))
	for _, s := range a.S {
		if s == nil {
			s = &expr.State{}
		}
		b = binary.AppendVarint(b, s.N)
		b = binary.AppendVarint(b, s.I)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.F))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.M2))
		if s.D == nil {
			b = row.AppendValue(b, nil)
		} else {
			b = row.AppendValue(b, s.D)
		}
		b = row.AppendValue(b, s.V)
		b = binary.AppendVarint(b, s.T)
		if s.L == nil {
			b = row.AppendValue(b, nil)
		} else {
			b = row.AppendValue(b, s.L)
		}
		b = binary.AppendUvarint(b, uint64(len(s.LT)))
		for _, t := range s.LT {
			b = binary.AppendVarint(b, t)
		}
		keys := make([]string, 0, len(s.Set))
		for k := range s.Set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
		}
	}
	return b
}

func decodeAccum(b []byte) (*Accum, error) {
	bad := fmt.Errorf("beamrt: truncated accumulator")
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	a := &Accum{S: make([]*expr.State, n)}
	varint := func() int64 {
		v, k := binary.Varint(b)
		if k <= 0 {
			panic(bad)
		}
		b = b[k:]
		return v
	}
	uvarint := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > uint64(len(b))+1<<20 {
			panic(bad)
		}
		b = b[k:]
		return v
	}
	f64 := func() float64 {
		if len(b) < 8 {
			panic(bad)
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		return v
	}
	value := func() any {
		v, rest, err := row.ReadValue(b)
		if err != nil {
			panic(bad)
		}
		b = rest
		return v
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = bad
			}
		}()
		for i := range a.S {
			s := &expr.State{}
			s.N = varint()
			s.I = varint()
			s.F = f64()
			s.M2 = f64()
			if d, ok := value().(*apd.Decimal); ok {
				s.D = d
			}
			s.V = value()
			s.T = varint()
			if l, ok := value().([]any); ok {
				s.L = l
			}
			if m := uvarint(); m > 0 {
				s.LT = make([]int64, m)
				for j := range s.LT {
					s.LT[j] = varint()
				}
			}
			if m := uvarint(); m > 0 {
				s.Set = make(map[string]struct{}, m)
				for range m {
					l := uvarint()
					if uint64(len(b)) < l {
						panic(bad)
					}
					s.Set[string(b[:l])] = struct{}{}
					b = b[l:]
				}
			}
			a.S[i] = s
		}
	}()
	if err != nil {
		return nil, err
	}
	return a, nil
}
