// Crash: start a child process that appends rows without ever calling
// Sync, kill it with SIGKILL in the middle, then reopen the table and show
// what recovery did.
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mmapvec/persistence/table"
)

// Reading is one sensor reading; Check must equal Seq*3 in every row, so a
// row that mixed two writes would show.
type Reading struct {
	Seq   int64
	Value float64
	Check int64
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "child" {
		child(os.Args[2])
		return
	}
	tmp, err := os.MkdirTemp("", "crash-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "readings")

	cmd := exec.Command(os.Args[0], "child", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	// The child reports each acknowledged batch; kill it after a moment.
	acked := 0
	lines := bufio.NewScanner(out)
	deadline := time.Now().Add(300 * time.Millisecond)
	for lines.Scan() && time.Now().Before(deadline) {
		if n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "acked ")); err == nil {
			acked = n
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no deferred code, no Close, no Sync
	_ = cmd.Wait()
	fmt.Printf("child killed with SIGKILL after acknowledging %d rows\n", acked)

	t, err := table.Open[Reading](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	fmt.Printf("reopened: %s\n", t.Recovered())
	bad := 0
	for i := range t.Len() {
		if r := t.Row(i); r.Seq != int64(i) || r.Check != r.Seq*3 {
			bad++
		}
	}
	fmt.Printf("%d rows present (every acknowledged row: %v), %d torn rows\n", t.Len(), t.Len() >= acked, bad)
	if t.Len() < acked || bad > 0 {
		os.Exit(1)
	}
}

// child appends forever in batches, without Sync, acknowledging each.
func child(dir string) {
	t, err := table.Open[Reading](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	batch := make([]Reading, 1000)
	for {
		n := int64(t.Len())
		for i := range batch {
			s := n + int64(i)
			batch[i] = Reading{Seq: s, Value: float64(s) / 10, Check: s * 3}
		}
		if err := t.AppendRows(batch); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("acked %d\n", t.Len())
	}
}
