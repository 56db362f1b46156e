package cep

import (
	"encoding/binary"
	"errors"
	"fmt"

	"rtsap.dev/rtsapc/runtime/row"
)

const codecVersion = 1

var errCorrupt = errors.New("cep: corrupt state")

// Marshal encodes s (after dropping what no match references) for Beam
// state.
func (m *Matcher) Marshal(s *State) []byte {
	m.gc(s, true)
	b := []byte{codecVersion}
	b = binary.AppendVarint(b, s.seq)
	b = binary.AppendVarint(b, s.order)
	b = binary.AppendVarint(b, s.lastTs)
	if s.begun {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s.rows)))
	for _, r := range s.rows {
		b = binary.AppendVarint(b, r.seq)
		b = binary.AppendVarint(b, r.ts)
		b = row.Encode(b, r.row)
	}
	b = binary.AppendUvarint(b, uint64(len(s.nodes)))
	for _, n := range s.nodes {
		b = binary.AppendVarint(b, n.seq)
		b = binary.AppendVarint(b, int64(n.prev))
	}
	for _, ps := range [][]*partial{s.partials, s.completed} {
		b = binary.AppendUvarint(b, uint64(len(ps)))
		for _, p := range ps {
			for _, v := range []int64{int64(p.state), p.startSeq, p.startTs, p.lastSeq, p.lastTs, p.order} {
				b = binary.AppendVarint(b, v)
			}
			for i := range m.vars {
				b = binary.AppendVarint(b, int64(p.heads[i]))
				b = binary.AppendVarint(b, int64(p.counts[i]))
			}
		}
	}
	return b
}

// Unmarshal decodes a state encoded by Marshal; nil or empty b is the
// empty state. Corrupt input is an error, never a panic.
func (m *Matcher) Unmarshal(b []byte) (s *State, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: %v", errCorrupt, r)
		}
	}()
	s = &State{}
	if len(b) == 0 {
		return s, nil
	}
	if b[0] != codecVersion {
		return nil, errCorrupt
	}
	b = b[1:]
	bad := false
	vi := func() int64 {
		v, k := binary.Varint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return v
	}
	uv := func(limit int) int {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > uint64(limit) {
			bad = true
			return 0
		}
		b = b[k:]
		return int(v)
	}
	s.seq, s.order, s.lastTs = vi(), vi(), vi()
	if bad || len(b) == 0 {
		return nil, errCorrupt
	}
	s.begun = b[0] == 1
	b = b[1:]
	n := uv(len(b))
	for i := 0; i < n && !bad; i++ {
		r := bufRow{seq: vi(), ts: vi()}
		if bad {
			break
		}
		var rest []byte
		r.row, rest, err = row.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		b = rest
		if len(s.rows) > 0 && r.seq <= s.rows[len(s.rows)-1].seq {
			return nil, errCorrupt
		}
		s.rows = append(s.rows, r)
	}
	n = uv(len(b))
	for i := 0; i < n && !bad; i++ {
		nd := node{seq: vi()}
		prev := vi()
		if prev < -1 || prev >= int64(i) {
			return nil, errCorrupt
		}
		nd.prev = int32(prev)
		s.nodes = append(s.nodes, nd)
	}
	for k := 0; k < 2 && !bad; k++ {
		n = uv(len(b))
		for i := 0; i < n && !bad; i++ {
			p := &partial{}
			st := vi()
			p.startSeq, p.startTs, p.lastSeq, p.lastTs, p.order = vi(), vi(), vi(), vi(), vi()
			if st < -1 || st >= int64(len(m.states)) {
				return nil, errCorrupt
			}
			p.state = int(st)
			p.heads = make([]int32, len(m.vars))
			p.counts = make([]int32, len(m.vars))
			for j := range m.vars {
				h, c := vi(), vi()
				if h < -1 || h >= int64(len(s.nodes)) || c < 0 || c > s.seq {
					return nil, errCorrupt
				}
				p.heads[j], p.counts[j] = int32(h), int32(c)
			}
			if k == 0 {
				if p.state < 0 || m.isFinal(p.state) {
					return nil, errCorrupt
				}
				s.partials = append(s.partials, p)
			} else {
				s.completed = append(s.completed, p)
			}
		}
	}
	if bad || len(b) != 0 {
		return nil, errCorrupt
	}
	return s, nil
}
