package table_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/table"
)

// asides lists the directories next to table dir that a creation or a
// conversion of it built and did not rename into place.
func asides(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{"creating", "converting"} {
		m, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+"."+kind+"-*"))
		require.NoError(t, err)
		out = append(out, m...)
	}
	return out
}

// killCreation kills a child at the n-th hit of point while it creates
// the table in dir, and returns what it left next to dir.
func killCreation(t *testing.T, testName, dir, point string) []string {
	t.Helper()
	c := testproc.Start(t, testName, "crash", "PERSIST_TEST_DIR="+dir, "PERSIST_CRASH_NAME="+point, "PERSIST_CRASH_AT=1")
	require.Equal(t, -1, c.Wait(), "killed at %s", point)
	_, err := os.Stat(dir)
	if point != "table.create.renamed" {
		require.ErrorIs(t, err, os.ErrNotExist, "a creation killed before its rename leaves no table")
	}
	return asides(t, dir)
}

// TestKilledCreationLeftovers kills a creation at each of its steps: what
// it leaves next to the table is reported by a check, kept by a read-only
// open, and removed by the next writable open.
func TestKilledCreationLeftovers(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	for _, point := range []string{"table.create.columns", "table.create.commit", "table.create.rename", "table.create.renamed"} {
		t.Run(point, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			left := killCreation(t, "TestKilledCreationLeftovers", dir, point)
			if point == "table.create.renamed" {
				require.Empty(t, left, "renamed: nothing left aside")
				mustCheck(t, dir)
				return
			}
			require.Len(t, left, 1, "the aside directory of the killed creation")

			// A table made elsewhere and moved to dir, so that no writable
			// open of dir ran yet.
			other := filepath.Join(t.TempDir(), "t")
			tb, err := table.Open[Particle](other, nil)
			require.NoError(t, err)
			require.NoError(t, tb.Close())
			require.NoError(t, os.Rename(other, dir))

			rep, err := table.Check(dir)
			require.NoError(t, err)
			require.True(t, rep.OK(), "a leftover is no problem: %v", rep.Err())
			require.Contains(t, strings.Join(rep.Notes, "\n"), "leftover "+left[0]+" (left by an interrupted step")

			ro := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
			require.NoError(t, ro.Close())
			require.Equal(t, left, asides(t, dir), "a read-only open removes nothing")

			mustOpen[Particle](t, dir, nil)
			require.Empty(t, asides(t, dir), "a writable open removes the leftover")
		})
	}
}

// TestCreateAfterKilledCreation: the writable open that creates the table
// after a killed creation removes what that creation left.
func TestCreateAfterKilledCreation(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	dir := filepath.Join(t.TempDir(), "t")
	require.Len(t, killCreation(t, t.Name(), dir, "table.create.commit"), 1)
	tb := mustOpen[Particle](t, dir, nil)
	require.True(t, tb.Recovered().Created)
	require.Empty(t, asides(t, dir))
}

// TestLeftoversNotOurs: directories named like an aside directory are kept
// unless they provably belong to a killed step of this library.
func TestLeftoversNotOurs(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "t")
	mk := func(name string, perm os.FileMode, files ...string) string {
		p := filepath.Join(parent, name)
		require.NoError(t, os.Mkdir(p, 0o700))
		for _, f := range files {
			require.NoError(t, os.WriteFile(filepath.Join(p, f), nil, 0o644))
		}
		require.NoError(t, os.Chmod(p, perm))
		return p
	}
	stale := mk(".t.creating-11", 0o755, "LOCK", "COMMIT", "A.col")
	foreign := mk(".t.creating-12", 0o755, "LOCK", "notes.txt")
	unclaimed := mk(".t.creating-13", 0o700, "LOCK")
	live := mk(".t.converting-14", 0o755, "LOCK", "manifest.json")
	notDigits := mk(".t.creating-x1", 0o755, "LOCK")
	otherTable := mk(".u.creating-15", 0o755, "LOCK")
	target := mk("elsewhere", 0o755, "LOCK")
	link := filepath.Join(parent, ".t.creating-16")
	require.NoError(t, os.Symlink(target, link))

	holder, err := lockfile.Acquire(filepath.Join(live, "LOCK"), nil) // a builder at work
	require.NoError(t, err)
	defer holder.Release()

	tb := mustOpen[Particle](t, dir, nil)
	_, err = os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist, "claimed, only table files, lock free: removed")
	for _, kept := range []string{foreign, unclaimed, live, notDigits, otherTable, link, filepath.Join(target, "LOCK")} {
		_, err := os.Lstat(kept)
		require.NoError(t, err, "%s is kept", kept)
	}

	rep, err := tb.Check()
	require.NoError(t, err)
	require.NoError(t, tb.Close())
	notes := strings.Join(rep.Notes, "\n")
	require.Contains(t, notes, foreign+" (holds notes.txt, which is not a table file")
	require.Contains(t, notes, unclaimed+" (not yet claimed by its builder")
	require.Contains(t, notes, live+" (its builder is running)")
	require.Contains(t, notes, link+" (not a directory")
	require.NotContains(t, notes, otherTable)
	require.NotContains(t, notes, notDigits)

	require.NoError(t, holder.Release())
	_, err = table.Repair(dir, nil)
	require.NoError(t, err)
	_, err = os.Stat(live)
	require.ErrorIs(t, err, os.ErrNotExist, "its builder is gone: repair removes it")
}

// TestManifestTempLeftovers: the temporary files of a manifest rewrite and
// of a column creation, made exactly as their writers make them, are noted
// by a check, kept by a read-only open, and removed by a writable open
// (or repair); a file that merely looks alike is kept.
func TestManifestTempLeftovers(t *testing.T) {
	for _, how := range []string{"open", "repair"} {
		t.Run(how, func(t *testing.T) {
			dir := checkedTable(t, 3)
			var temps []string
			for _, pattern := range []string{"." + persistence.ManifestFile + ".tmp*", ".Mass.col.tmp*"} {
				f, err := os.CreateTemp(dir, pattern)
				require.NoError(t, err)
				require.NoError(t, f.Close())
				temps = append(temps, f.Name())
			}
			lookalike := filepath.Join(dir, "."+persistence.ManifestFile+".tmp-mine")
			require.NoError(t, os.WriteFile(lookalike, nil, 0o644))

			rep, err := table.Check(dir)
			require.NoError(t, err)
			for _, tmp := range temps {
				require.Contains(t, strings.Join(rep.Notes, "\n"), "leftover "+tmp)
			}
			require.Contains(t, strings.Join(problemIn(rep, filepath.Base(lookalike)), ""), "not one of the table's files")

			ro := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
			require.NoError(t, ro.Close())
			for _, tmp := range temps {
				require.FileExists(t, tmp, "a read-only open removes nothing")
			}

			if how == "open" {
				tb, err := table.Open[Particle](dir, nil)
				require.NoError(t, err)
				require.NoError(t, tb.Close())
			} else {
				rep, err := table.Repair(dir, nil)
				require.NoError(t, err)
				require.ElementsMatch(t, temps, rep.Removed)
			}
			for _, tmp := range temps {
				require.NoFileExists(t, tmp)
			}
			require.FileExists(t, lookalike)
			require.NoError(t, os.Remove(lookalike))
			mustCheck(t, dir)
		})
	}
}

// TestCreationLockedWhileBuilt: a creation holds the lock of the directory
// it builds until it is renamed into place, so that a cleaner (here a
// writable open of the same table, which wins the race to create it)
// tells it from a killed one.
func TestCreationLockedWhileBuilt(t *testing.T) {
	if testproc.Role() == "hang" {
		point := os.Getenv("PERSIST_TEST_HANG")
		crashpoint.SetHook(func(name string) {
			if name == point {
				testproc.Say("hanging at %s", name)
				testproc.Hang()
			}
		})
		_, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	dir := filepath.Join(t.TempDir(), "t")
	c := testproc.Start(t, t.Name(), "hang", "PERSIST_TEST_DIR="+dir, "PERSIST_TEST_HANG=table.create.commit")
	c.Expect(t, "hanging at table.create.commit", 30*time.Second)
	left := asides(t, dir)
	require.Len(t, left, 1)
	_, err := lockfile.Acquire(filepath.Join(left[0], "LOCK"), &lockfile.Options{Shared: true, NoCreate: true})
	require.ErrorIs(t, err, lockfile.ErrLocked, "the builder holds its lock")

	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.True(t, tb.Recovered().Created)
	require.NoError(t, tb.Close())
	require.Equal(t, left, asides(t, dir), "a live builder's directory is kept")

	c.Kill()
	mustOpen[Particle](t, dir, nil)
	require.Empty(t, asides(t, dir), "once its builder is gone, the next writable open removes it")
}
