package ol

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// DerivedRunID returns a UUIDv7 (as object-model.md recommends) whose
// timestamp is t and whose other bits hash name, so that a build with a fixed
// clock yields the same id every time (static declarations, goldens), while
// distinct runs still sort by time. Runtime runs use [NewRunID].
func DerivedRunID(t time.Time, name string) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	if t.UnixMilli() < 0 {
		ms = 0
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(u[0:6], ts[2:8])
	h := sha256.Sum256([]byte(name))
	copy(u[6:], h[:10])
	u[6] = (u[6] & 0x0f) | 0x70 // version 7
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String()
}

// NewRunID returns a fresh UUIDv7 from the clock and a random source; on
// the (unexpected) failure of the random source it falls back to a
// time-and-counter derived id rather than failing the caller.
func NewRunID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return DerivedRunID(time.Now(), time.Now().String())
	}
	return u.String()
}
