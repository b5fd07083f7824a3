package mmap

import (
	"fmt"

	"github.com/mmapvec/persistence/internal/errs"
)

// Source is where a Vec's length came from when it was opened.
type Source int

const (
	// SourceLive: the last writer ran in this boot, so every completed
	// Push and Append is kept, synced or not.
	SourceLive Source = iota + 1
	// SourceCommitted: the last writer ran in another boot (or its boot is
	// unknown): the Vec is as of its last Sync.
	SourceCommitted
)

func (s Source) String() string {
	switch s {
	case SourceLive:
		return "live"
	case SourceCommitted:
		return "committed"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Recovery says how the length was chosen when the file was opened.
type Recovery struct {
	// Source says which length was trusted.
	Source Source
	// Length is the length the Vec opened with; Live and Committed are the
	// two candidates (Live is -1 when it was not trusted and not read).
	Length, Live, Committed int
	// SlotFallback is set when one commit slot was damaged (a torn write)
	// and the other was used.
	SlotFallback bool
}

// recover chooses the length from what the file reports: the live length
// if the last writer ran in this boot, the committed one otherwise. A
// writable Vec then records this boot as the writer's.
func (v *Vec[T]) recover() error {
	fx := v.f.Facts()
	rec := Recovery{Source: SourceCommitted, Length: fx.Committed, Live: -1, Committed: fx.Committed, SlotFallback: fx.SlotFallback}
	if fx.SameBoot {
		if !fx.LiveOK {
			return errs.File(v.f.Path(), errs.ErrChecksum, "the live length word fails its check bits")
		}
		rec.Source, rec.Length, rec.Live = SourceLive, fx.Live, fx.Live
	}
	if rec.Length > v.f.Cap() {
		return errs.File(v.f.Path(), errs.ErrLengthBeyondFile, "%s length %d, the file holds %d elements", rec.Source, rec.Length, v.f.Cap())
	}
	v.recovery = rec
	if err := v.f.SetLen(rec.Length); err != nil {
		return err
	}
	if v.f.ReadOnly() {
		return nil
	}
	return v.f.Adopt()
}
