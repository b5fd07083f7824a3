//go:build race

package ingest_test

// The race detector slows the importer children: fewer of them.
const raceEnabled = true
