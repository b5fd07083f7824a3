package table_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// A writer killed inside a SyncMeta after its record is durable but before
// it published the Sync on the READERS page: the log holds 20 rows with
// meta "20", the page still the count of the commit before (10). The
// page's count is tagged with its commit, so a SyncedOnly reader (no writer
// running, or a new writer beside it) shows the 20 rows the files commit,
// whose meta Meta reads, rather than 10 under meta "20".
func TestReaderAfterWriterKilledMidSync(t *testing.T) {
	if testproc.Role() == "midsync" {
		w, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err == nil {
			err = w.AppendRows(particles(seq(0, 10)...))
		}
		if err == nil {
			err = w.SyncMeta([]byte("10"))
		}
		if err == nil {
			err = w.AppendRows(particles(seq(10, 20)...))
		}
		if err != nil {
			testproc.Say("error %v", err)
			testproc.Hang()
		}
		crashpoint.SetHook(func(name string) {
			if name == "table.sync.done" { // durable, not yet published
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Hour)
			}
		})
		_ = w.SyncMeta([]byte("20"))
		testproc.Say("not killed")
		testproc.Hang()
	}
	dir := filepath.Join(t.TempDir(), "t")
	c := testproc.Start(t, t.Name(), "midsync", "PERSIST_TEST_DIR="+dir)
	c.Wait()
	require.True(t, c.Killed(), "child: %v %s", c.Lines(), c.Stderr())

	check := func(who string) {
		r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
		require.NoError(t, err)
		defer r.Close()
		t.Logf("%s: SyncedOnly reader: %d rows, Meta %q", who, r.Len(), r.Meta())
		if strconv.Itoa(r.Len()) != string(r.Meta()) {
			t.Errorf("%s: Meta %q is not the meta of the %d rows shown", who, r.Meta(), r.Len())
		}
	}
	check("no writer")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	defer w.Close()
	t.Logf("writer: %s; Meta %q", w.Recovered(), w.Meta())
	check("beside a writer")
}
