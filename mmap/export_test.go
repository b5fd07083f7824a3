package mmap

// BreakFile closes the descriptor under a Vec so that its next sync fails.
func BreakFile[T any](v *Vec[T]) { _ = v.raw.f.Close() }

// Mappings returns how many mappings of the file are alive.
func Mappings[T any](v *Vec[T]) int { return len(v.raw.old) + 1 }
