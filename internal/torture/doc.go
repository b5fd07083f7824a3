// Package torture holds the crash, fault and bad-input tests of the library:
// a process killed at every crash point and at random moments, disk images
// after a simulated power loss, torn commit slots, damaged files, a full
// disk, locks across processes, and concurrent readers. The tests live in
// this package's _test.go files; the non-test files are the helpers they
// share, such as the power-loss image builder in crashfs.go.
//
// PERSIST_TORTURE=long multiplies the trial counts; PERSIST_SEED replays a
// randomized test with the seed it printed.
package torture
