package fsutil

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// cloneRange shares src's blocks covering [off, off+n) with dst at the
// same offset (FICLONERANGE). The range must start on a block boundary and
// cover whole blocks, except that it may end at src's end of file.
func cloneRange(dst, src *os.File, off, n int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	blk := int64(st.Blksize)
	if blk <= 0 || off%blk != 0 {
		return errors.ErrUnsupported
	}
	length := (n + blk - 1) / blk * blk
	if off+length > st.Size {
		length = 0 // to the end of the file, the one end that need not be aligned
	}
	return unix.IoctlFileCloneRange(int(dst.Fd()), &unix.FileCloneRange{
		Src_fd: int64(src.Fd()), Src_offset: uint64(off), Src_length: uint64(length), Dest_offset: uint64(off)})
}
