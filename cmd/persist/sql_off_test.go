//go:build !cgo

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSQLNeedsCgo(t *testing.T) {
	code, _, errOut := runBinary(t, "sql", "SELECT 1", "t="+t.TempDir())
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "CGO_ENABLED=1")
}
