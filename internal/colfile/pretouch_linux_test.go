package colfile_test

import (
	"os"
	"runtime"
	"syscall"
	"testing"
)

func threadFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt + ru.Majflt
}

// TestTouchFaultsIn checks that a touched page takes a store without a
// page fault, and that an untouched one does not (so that the first half
// can fail).
func TestTouchFaultsIn(t *testing.T) {
	if os.Getenv("PERSIST_TEST_EXEC") != "" {
		t.Skip("under an emulator (PERSIST_TEST_EXEC) the thread's page faults are the emulator's")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const pages = 256
	store := func(s []uint64) int64 {
		before := threadFaults(t)
		for i := 0; i < len(s); i += 512 { // 512 elements per 4 KiB
			s[i] = uint64(i) + 1
		}
		return threadFaults(t) - before
	}

	f := openU64(t, pages*512)
	if got := store(elems(f)[:pages*512]); got == 0 {
		t.Fatalf("stores into %d new pages took no page fault: the check below could not fail", pages)
	}

	f = openU64(t, pages*512)
	f.Touch(0, pages*512)
	if got := store(elems(f)[:pages*512]); got != 0 {
		t.Errorf("stores into %d touched pages took %d page faults, want 0", pages, got)
	}
}
