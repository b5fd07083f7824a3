package mmap

// BreakFile closes the descriptor under a Vec so that its next sync fails.
func BreakFile[T any](v *Vec[T]) { _ = v.raw.f.Close() }

// Reserved returns the reservation size.
func Reserved[T any](v *Vec[T]) int { return v.raw.reserved }
