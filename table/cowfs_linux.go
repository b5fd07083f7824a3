package table

import "golang.org/x/sys/unix"

// cowFS reports whether dir lies on a file system that copies a page
// rewritten after it reached the disk to a new block (btrfs, bcachefs,
// ZFS), where a store into a mapping can fault on a full disk.
func cowFS(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.BTRFS_SUPER_MAGIC, 0xca451a4e /* bcachefs */, 0x2fc12fc1 /* ZFS */ :
		return true
	}
	return false
}
