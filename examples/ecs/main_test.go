package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence/table"
)

// rows reads every row of the world in dir as entity type R.
func rows[R any](t *testing.T, dir string) []R {
	t.Helper()
	w, err := table.Open[R](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	out := make([]R, w.Len())
	if n, err := w.ReadRows(out, 0); err != nil || n != len(out) {
		t.Fatalf("read %d of %d rows: %v", n, len(out), err)
	}
	return out
}

func runWorld(t *testing.T, args ...string) string {
	t.Helper()
	var out strings.Builder
	if err := run(args, &out); err != nil {
		t.Fatalf("ecs %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// TestVersion2ContinuesVersion1World: a world version 1 saved opens with
// version 2, which widens Life and adds Bounces in place; every row is
// kept, the new component is zero until the floor system sets it.
func TestVersion2ContinuesVersion1World(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "world")
	runWorld(t, "-version", "1", dir)
	v1 := rows[ParticleV1](t, dir)
	if len(v1) == 0 || len(v1) > spawnPerRun {
		t.Fatalf("version 1 saved %d particles of the %d it spawned", len(v1), spawnPerRun)
	}

	// No steps: the open evolves the world, the spawn appends generation 2.
	out := runWorld(t, "-steps", "0", dir)
	if !strings.Contains(out, "evolved the world's schema in place: add Bounces; widen Life (float32 to float64)\n") {
		t.Fatalf("the first version 2 run does not report the change:\n%s", out)
	}
	v2 := rows[Particle](t, dir)
	if len(v2) != len(v1)+spawnPerRun {
		t.Fatalf("%d particles after the spawn, want %d", len(v2), len(v1)+spawnPerRun)
	}
	for i, p := range v1 {
		want := Particle{Pos: p.Pos, Vel: p.Vel, Life: float64(p.Life), Gen: p.Gen}
		if v2[i] != want {
			t.Fatalf("particle %d: %+v after the change, want %+v", i, v2[i], want)
		}
	}
	for i, p := range v2[len(v1):] {
		if p.Gen != 2 || p.Bounces != 0 || p.Life != float64(1+i%5) {
			t.Fatalf("spawned particle %d: %+v", i, p)
		}
	}

	// A second version 2 run changes nothing in the schema; the floor
	// system counts bounces of old and new particles.
	out = runWorld(t, dir)
	if strings.Contains(out, "evolved") {
		t.Fatalf("the second version 2 run changed the schema again:\n%s", out)
	}
	gens := map[uint32]int{}
	for _, p := range rows[Particle](t, dir) {
		if p.Bounces > 0 {
			gens[p.Gen]++
		}
	}
	if gens[1] == 0 || gens[2] == 0 || gens[3] == 0 {
		t.Fatalf("particles that bounced, by generation: %v; want some of each", gens)
	}

	// Version 1 cannot open the evolved world: narrowing is refused.
	var sink strings.Builder
	if err := run([]string{"-version", "1", dir}, &sink); err == nil || !strings.Contains(err.Error(), "narrowing") {
		t.Fatalf("version 1 opened a version 2 world: %v", err)
	}
}
