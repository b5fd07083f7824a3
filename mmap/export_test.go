package mmap

import "github.com/mmapvec/persistence/internal/colfile"

// BreakFile closes the descriptor under a Vec so that its next sync fails.
func BreakFile[T any](v *Vec[T]) { colfile.BreakFile(v.f) }

// Mappings returns how many mappings of the file are alive.
func Mappings[T any](v *Vec[T]) int { return colfile.Mappings(v.f) }
