// ECS: a particle simulation whose components are table columns. Each run
// continues from the state the previous run left in the directory (the
// first argument, default persistence-ecs in the system's temporary
// directory, so that a run never writes into the current directory), and
// systems iterate column slices.
package main

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/mmapvec/persistence/table"
)

type Vec2 struct{ X, Y float32 }

// Particle is an entity; each component is a column.
type Particle struct {
	Pos  Vec2
	Vel  Vec2
	Life float32 // seconds left
	Gen  uint32  // the run that spawned it
}

const (
	spawnPerRun = 100_000
	steps       = 60
	dt          = 1.0 / 60
)

func main() {
	dir := filepath.Join(os.TempDir(), "persistence-ecs")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	w, err := table.Open[Particle](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	gen := uint32(1)
	if w.Len() > 0 {
		gen = w.Row(w.Len()-1).Gen + 1
	}
	fmt.Printf("run %d in %s: %d particles alive from earlier runs\n", gen, dir, w.Len())

	// Spawn: one bulk append.
	spawn := make([]Particle, spawnPerRun)
	for i := range spawn {
		a := float64(i) * 2 * math.Pi / spawnPerRun
		spawn[i] = Particle{Vel: Vec2{float32(math.Cos(a)), float32(math.Sin(a))}, Life: float32(1 + i%5), Gen: gen}
	}
	if err := w.AppendRows(spawn); err != nil {
		log.Fatal(err)
	}

	pos, err := table.Col(w, func(p *Particle) *Vec2 { return &p.Pos })
	if err != nil {
		log.Fatal(err)
	}
	vel, err := table.Col(w, func(p *Particle) *Vec2 { return &p.Vel })
	if err != nil {
		log.Fatal(err)
	}
	life, err := table.Col(w, func(p *Particle) *float32 { return &p.Life })
	if err != nil {
		log.Fatal(err)
	}

	start := time.Now()
	removed := 0
	for range steps {
		// Movement system: two columns, nothing else touched.
		ps, vs := pos.Slice(), vel.Slice()
		for i := range ps {
			ps[i].X += vs[i].X * dt
			ps[i].Y += vs[i].Y * dt
		}
		// Gravity system.
		for i := range vs {
			vs[i].Y -= 9.81 * dt
		}
		// Aging system: despawn by swap-remove, iterating backwards.
		ls := life.Slice()
		for i := len(ls) - 1; i >= 0; i-- {
			ls[i] -= dt
			if ls[i] <= 0 {
				if err := w.SwapRemove(i); err != nil {
					log.Fatal(err)
				}
				removed++
				ls = life.Slice()
			}
		}
	}
	elapsed := time.Since(start)
	if err := w.Sync(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("simulated %d steps in %v (%.1f ns per particle-step); despawned %d; %d alive, saved in %s\n",
		steps, elapsed.Round(time.Microsecond), float64(elapsed.Nanoseconds())/float64(steps*(w.Len()+removed/2)),
		removed, w.Len(), dir)
}
