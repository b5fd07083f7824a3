//go:build !amd64 || race

package colset

import "sync/atomic"

// storeRelease stores v at p so that whoever loads it atomically sees every
// store made before it (see release_amd64.go).
func storeRelease(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
