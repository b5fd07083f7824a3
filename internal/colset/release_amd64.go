//go:build amd64 && !race

package colset

// storeRelease stores v at p so that whoever loads it atomically (a view in
// another goroutine, a reader in another process) and sees v also sees every
// store made before it. On amd64 every store is a release store (total
// store order), and the gc compiler keeps stores in program order, so a
// plain store is enough. atomic.Store would be an XCHG, which waits for the
// store buffer to drain: the rows' stores into freshly faulted pages. Two of
// them took half of Append's time. The race detector knows only
// sync/atomic, so race builds use it (release_other.go).
func storeRelease(p *uint64, v uint64) { *p = v }
