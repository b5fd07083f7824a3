package table_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// deriveB is an idempotent migration: B becomes a function of A, so that a
// migration killed before its switch and run again gives the same rows.
func deriveB(tb *table.Table[evV1], from uint32) error {
	a, err := table.Column[int32](tb, "A")
	if err != nil {
		return err
	}
	b, err := table.Column[float32](tb, "B")
	if err != nil {
		return err
	}
	return tb.Update(func() error {
		bs := b.Slice()
		for i, x := range a.Slice() {
			bs[i] = float32(x) * 2
		}
		return nil
	})
}

// TestMigrateCrash kills a Migrate at each of its crash points: readers
// see version 0 or 1 with every row, or need recovery, and the next
// Migrate ends at version 1 with every row migrated.
func TestMigrateCrash(t *testing.T) {
	if testproc.Role() == "migrate" {
		tb, err := table.Migrate(os.Getenv("PERSIST_TEST_DIR"), 1, deriveB, nil)
		if err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
		_ = tb.Close()
		testproc.Say("migrated")
		os.Exit(0)
	}
	const rows = 500
	template := evTable(t, rows)
	run := func(dir string, at *ecPoint) []string {
		log := filepath.Join(t.TempDir(), "points")
		env := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_CRASH_LOG=" + log}
		if at != nil {
			env = append(env, "PERSIST_CRASH_NAME="+at.name, fmt.Sprintf("PERSIST_CRASH_AT=%d", at.k))
		}
		child := testproc.Start(t, "TestMigrateCrash", "migrate", env...)
		code := child.Wait()
		if at == nil {
			require.Equal(t, 0, code, "%q\n%s", child.Lines(), child.Stderr())
		} else {
			require.True(t, child.Killed(), "not killed at %s: exit %d, %q\n%s", at, code, child.Lines(), child.Stderr())
		}
		return testproc.CrashLog(t, log)
	}
	points := schemaPoints(run(copyTable(t, template), nil))
	require.NotEmpty(t, points)
	migrated := func(i int) evV1 { r := evRow(i); r.B = float32(r.A) * 2; return r }
	for _, at := range points {
		t.Run(at.String(), func(t *testing.T) {
			dir := copyTable(t, template)
			run(dir, &at)
			// A reader at either version sees one of them whole, or is
			// told to recover.
			for _, v := range []uint32{0, 1} {
				r, err := table.Open[evV1](dir, &table.Options{ReadOnly: true, DataVersion: v})
				if err != nil {
					require.True(t, errors.Is(err, table.ErrDataVersion) || errors.Is(err, table.ErrNeedsRecovery), "version %d: %v", v, err)
					continue
				}
				require.Equal(t, rows, r.Len(), "version %d", v)
				if v == 1 {
					for i := range rows {
						require.Equal(t, migrated(i), r.Row(i), "version 1, row %d", i)
					}
				}
				require.NoError(t, r.Close())
			}
			tb, err := table.Migrate(dir, 1, deriveB, nil)
			require.NoError(t, err)
			require.Equal(t, rows, tb.Len())
			for i := range rows {
				require.Equal(t, migrated(i), tb.Row(i), "row %d", i)
			}
			require.NoError(t, tb.Close())
			require.Equal(t, uint32(1), manifestOf(t, dir).DataVersion)
			for _, f := range []string{"SCHEMA", "COMMIT.next"} {
				_, err := os.Stat(filepath.Join(dir, f))
				require.ErrorIs(t, err, os.ErrNotExist, "%s left", f)
			}
		})
	}
	t.Logf("a migration killed at %d points", len(points))
}
