package bootid_test

import (
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
)

func TestUnknownNeverMatches(t *testing.T) {
	if bootid.Same(bootid.Unknown, bootid.Unknown) {
		t.Fatal("an unknown boot matched itself: a file written without a boot id would trust its live length after a reboot")
	}
	known := bootid.ID{1}
	if bootid.Same(known, bootid.Unknown) || bootid.Same(bootid.Unknown, known) {
		t.Fatal("an unknown boot matched a known one")
	}
	if !bootid.Same(known, known) {
		t.Fatal("a known boot does not match itself")
	}
}

func TestCurrentIsKnownHere(t *testing.T) {
	if bootid.Current() == bootid.Unknown {
		t.Skip("this system offers no boot id")
	}
	bootid.OverrideID(bootid.Unknown)
	defer bootid.Override("")
	if bootid.Current() != bootid.Unknown {
		t.Fatal("OverrideID(Unknown) not in effect")
	}
}
