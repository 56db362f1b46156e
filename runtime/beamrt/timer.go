package beamrt

import (
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
)

// batchTimer is the one event-time timer per key of the batching stateful
// DoFns (interval join, rolling, dedupe, pattern): rows wait in state until
// the watermark passes the end of their batch (batchEnd), and the timer's
// output hold keeps the output watermark at the earliest time the key can
// still emit at. Next and Hold are the DoFn's state: the timer's firing
// time and hold.
//
// The timer is tagged by its hold. Prism (2.77) matches a pending timer to
// its latest setting by firing time only: a timer set again for the same
// firing time with another hold fires with the old hold, whose count is
// then dropped twice (crashing with "negative watermark hold count" when
// no other key holds that time) while the new hold is never dropped. With
// a tag per hold value a timer is only ever moved to another firing time
// or cleared, which Prism counts right.
type batchTimer struct {
	next, hold *state.Value[int64]
	timer      timers.EventTime
}

func holdTag(hold int64) string { return strconv.FormatInt(hold, 36) }

// wait makes the timer fire by the end of t's batch and hold output at t
// at the latest: a row at t waits for it.
func (b batchTimer) wait(sp state.Provider, tp timers.Provider, t int64) error {
	next, ok, err := b.next.Read(sp)
	if err != nil {
		return err
	}
	hold, _, err := b.hold.Read(sp)
	if err != nil {
		return err
	}
	fire := batchEnd(t)
	if ok && fire >= next && t >= hold {
		return nil
	}
	if !ok {
		return b.set(sp, tp, fire, t)
	}
	fire = min(fire, next)
	if h := min(hold, t, fire); h != hold {
		b.timer.ClearTag(tp, holdTag(hold))
	}
	return b.set(sp, tp, fire, min(hold, t))
}

// set sets the timer after it fired (no other timer of the key is
// pending then).
func (b batchTimer) set(sp state.Provider, tp timers.Provider, fire, hold int64) error {
	hold = min(hold, fire) // a timer cannot hold output past its own firing
	b.timer.Set(tp, time.UnixMilli(fire), timers.WithTag(holdTag(hold)), timers.WithOutputTimestamp(time.UnixMilli(hold)))
	if err := b.next.Write(sp, fire); err != nil {
		return err
	}
	return b.hold.Write(sp, hold)
}

// stop forgets the timer after it fired, when nothing waits.
func (b batchTimer) stop(sp state.Provider) error {
	if err := b.hold.Clear(sp); err != nil {
		return err
	}
	return b.next.Clear(sp)
}
