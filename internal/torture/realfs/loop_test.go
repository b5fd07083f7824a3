package realfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// fileSystem says how to make and mount one kind of file system in an
// image file.
type fileSystem struct {
	name string
	mkfs []string // the command and its flags; the image path follows
	// copyOpts are the mount options for a copy of the image. XFS refuses
	// a second file system with a mounted one's UUID unless told nouuid.
	copyOpts string
	pkg      string // the Debian package that has mkfs
}

// imageSize is the size of every image: sparse, so it costs only what the
// file system writes. mkfs.xfs refuses less than 300 MiB.
const imageSize = 512 << 20

var fileSystems = []fileSystem{
	// 4 KiB blocks, as on a real disk (mke2fs picks 1 KiB for small
	// images).
	{name: "ext4", mkfs: []string{"mkfs.ext4", "-q", "-F", "-b", "4096"}, pkg: "e2fsprogs"},
	{name: "xfs", mkfs: []string{"mkfs.xfs", "-q", "-f"}, copyOpts: "nouuid", pkg: "xfsprogs"},
	{name: "btrfs", mkfs: []string{"mkfs.btrfs", "-q", "-f"}, pkg: "btrfs-progs"},
}

// eachFileSystem runs test for every file system this machine can make
// and mount, each as its own subtest; the others skip, saying why, and
// all of them do under -short.
func eachFileSystem(t *testing.T, test func(t *testing.T, fs fileSystem)) {
	if testing.Short() {
		t.Skip("realfs: skipped under -short (it makes and mounts file systems on loop devices)")
	}
	for _, fs := range fileSystems {
		t.Run(fs.name, func(t *testing.T) {
			if why := missing(fs); why != "" {
				t.Skipf("realfs: %s: skipped: %s", fs.name, why)
			}
			test(t, fs)
		})
	}
}

// errUnavailable marks a step that failed because this machine cannot run
// the test (a tool or the kernel's support is missing), not because the
// library did something wrong: the test skips.
var errUnavailable = errors.New("realfs: unavailable here")

// missing returns what this machine lacks to run fs's test, or "".
func missing(fs fileSystem) string {
	if os.Geteuid() != 0 {
		return "not root (loop devices and mount need root)"
	}
	for _, tool := range []string{"losetup", "mount", "umount", "cp", fs.mkfs[0]} {
		if _, err := exec.LookPath(tool); err != nil {
			hint := "util-linux"
			switch tool {
			case fs.mkfs[0]:
				hint = fs.pkg
			case "cp":
				hint = "coreutils"
			}
			return fmt.Sprintf("%s not found (Debian package %s)", tool, hint)
		}
	}
	if !kernelHas(fs.name) {
		return fmt.Sprintf("the kernel does not list %s in /proc/filesystems", fs.name)
	}
	return ""
}

// kernelHas reports whether the kernel has the file system built in or
// loaded. A module that is not loaded yet is not listed, so a missing
// /proc/filesystems entry is only trusted when modprobe cannot load it.
func kernelHas(name string) bool {
	has := func() bool {
		b, err := os.ReadFile("/proc/filesystems")
		if err != nil {
			return true // unknown: let mount decide
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(strings.TrimPrefix(l, "nodev")) == name {
				return true
			}
		}
		return false
	}
	if has() {
		return true
	}
	if exec.Command("modprobe", name).Run() != nil {
		return false
	}
	return has()
}

// run runs a command and returns its error with its output.
func run(name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// makeImage creates a sparse image file of imageSize and makes fs in it.
func makeImage(fs fileSystem, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = f.Truncate(imageSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return run(fs.mkfs[0], append(fs.mkfs[1:], path)...)
}

// copyImage copies the image file as it is now: a power cut that keeps
// every write the loop device has been handed. cp skips the image's holes
// (SEEK_DATA) and leaves holes for zero blocks, so a copy costs what the
// file system wrote, not the image's size.
func copyImage(src, dst string) error {
	return run("cp", "--sparse=always", src, dst)
}

// mounted is an image attached to a loop device and mounted.
type mounted struct {
	dev, dir string
	done     bool // unmounted and detached
}

// mountImage attaches image to a free loop device and mounts it at dir
// with opts ("" for none). Whatever it did is undone by [mounted.unmount],
// which t.Cleanup also calls, so that no mount or loop device outlives the
// test even when it fails. A refusal to attach or to mount wraps
// errUnavailable.
func mountImage(t *testing.T, image, dir, opts string) (*mounted, error) {
	t.Helper()
	out, err := exec.Command("losetup", "--find", "--show", image).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: losetup --find --show %s: %v: %s", errUnavailable, image, err, bytes.TrimSpace(out))
	}
	m := &mounted{dev: strings.TrimSpace(string(out))}
	args := []string{m.dev, dir}
	if opts != "" {
		args = append(args, "-o", opts)
	}
	if err := run("mount", args...); err != nil {
		if derr := run("losetup", "-d", m.dev); derr != nil {
			t.Errorf("detach after a refused mount: %v", derr)
		}
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	m.dir = dir
	t.Cleanup(func() {
		if err := m.unmount(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return m, nil
}

// unmount unmounts and detaches the loop device; it is safe to call twice.
// If the file system is busy it is detached lazily, and the loop device is
// set to detach itself when its last user goes (losetup -d on a busy device
// sets autoclear), so that nothing stays attached.
func (m *mounted) unmount() error {
	if m.done {
		return nil
	}
	m.done = true
	var errs []error
	if err := run("umount", m.dir); err != nil {
		errs = append(errs, err)
		if err := run("umount", "-l", m.dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := run("losetup", "-d", m.dev); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
