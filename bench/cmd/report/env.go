package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/bench"
)

// env is what results.md says about the run, so figures can be read in context.
type env struct {
	Command, GoVersion, CPU, FS, Chart, Revision string
	LoadStart, LoadEnd                           string
	Cores                                        int
	MemGiB                                       float64
	Reps                                         int
	Date                                         time.Time
	Elapsed                                      time.Duration
}

func describe() env {
	e := env{GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown",
		Cores: runtime.NumCPU(), Date: time.Now().UTC(), FS: fsType(bench.Dir())}
	e.Revision = revision()
	e.LoadStart = loadAvg()
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		e.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
		e.MemGiB = kb / (1 << 20)
	}
	return e
}

// revision names the library commit measured, marked when files outside
// bench/ differ from it, so that a figure can be traced to the code behind it.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

// loadAvg is the 1-minute load average: other work on the machine shows in it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fsType names the file system of dir, to tell a real disk from tmpfs.
func fsType(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint32(st.Type) {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return "0x" + strconv.FormatUint(uint64(uint32(st.Type)), 16)
}
