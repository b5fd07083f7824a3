// Package bench measures persistence against its peers, side by side in one run.
package bench
