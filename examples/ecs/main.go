// ECS: a particle simulation whose components are table columns. Each run
// continues from the state the previous run left in the directory (the
// first argument, default persistence-ecs in the system's temporary
// directory, so that a run never writes into the current directory), and
// systems iterate column slices.
//
// The world has two versions of its entity type. Version 1 ([ParticleV1])
// is kept so that a world it saved can be made with -version 1; the
// current version ([Particle]) widens Life to float64 and adds a Bounces
// component. Opening a version 1 world with it evolves the table in place:
// Life's file is rebuilt wider, Bounces is added as zeros, and the rows
// are kept.
//
//	go run ./examples/ecs -version 1   # save a world as version 1 did
//	go run ./examples/ecs              # continue it with version 2
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

type Vec2 struct{ X, Y float32 }

// ParticleV1 is the entity as version 1 of the world stored it.
type ParticleV1 struct {
	Pos  Vec2
	Vel  Vec2
	Life float32 // seconds left
	Gen  uint32  // the run that spawned it
}

// Particle is the current entity; each component is a column. Life is
// float64 now (a float32 count of seconds left drifts when a long-lived
// particle subtracts dt thousands of times), and Bounces is new: particles
// of a version 1 world start with none.
type Particle struct {
	Pos     Vec2
	Vel     Vec2
	Life    float64
	Gen     uint32
	Bounces uint32 // times it hit the floor
}

const (
	spawnPerRun = 100_000
	dt          = 1.0 / 60
	floorY      = -1
	restitution = 0.8
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run parses the arguments and runs one step of the world's life.
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ecs", flag.ContinueOnError)
	version := fs.Int("version", 2, "the entity type to run: 1 saves a world as version 1 did")
	steps := fs.Int("steps", 60, "simulation steps after the spawn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(os.TempDir(), "persistence-ecs")
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	switch *version {
	case 1:
		return simulate[ParticleV1, float32](out, dir, *steps, func(i int, gen uint32, vel Vec2) ParticleV1 {
			return ParticleV1{Vel: vel, Life: float32(1 + i%5), Gen: gen}
		})
	case 2:
		return simulate[Particle, float64](out, dir, *steps, func(i int, gen uint32, vel Vec2) Particle {
			return Particle{Vel: vel, Life: float64(1 + i%5), Gen: gen}
		})
	}
	return fmt.Errorf("-version %d: the world has versions 1 and 2", *version)
}

// simulate opens the world as entity type R, whose Life component is an L,
// spawns a generation made by spawn, runs the systems for steps and saves
// the world. The systems are the same for both versions; the floor system
// runs where R has a Bounces column.
func simulate[R any, L float32 | float64](out io.Writer, dir string, steps int, spawn func(i int, gen uint32, vel Vec2) R) error {
	w, err := table.Open[R](dir, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	if ch := w.Recovered().SchemaChanges; len(ch) > 0 {
		fmt.Fprintf(out, "evolved the world's schema in place: %s\n", describe(ch))
	}
	gens, err := table.Column[uint32](w, "Gen")
	if err != nil {
		return err
	}
	gen := uint32(1)
	if n := gens.Len(); n > 0 {
		gen = gens.Get(n-1) + 1
	}
	fmt.Fprintf(out, "run %d in %s: %d particles alive from earlier runs\n", gen, dir, w.Len())

	// Spawn: one bulk append.
	batch := make([]R, spawnPerRun)
	for i := range batch {
		a := float64(i) * 2 * math.Pi / spawnPerRun
		batch[i] = spawn(i, gen, Vec2{float32(math.Cos(a)), float32(math.Sin(a))})
	}
	if err := w.AppendRows(batch); err != nil {
		return err
	}

	// The components the systems work on, by column name.
	var sys struct {
		Pos, Vel *column.Of[Vec2]
		Life     *column.Of[L]
	}
	if err := table.Bind(w, &sys); err != nil {
		return err
	}
	bounces, err := table.Column[uint32](w, "Bounces")
	if errors.Is(err, table.ErrNoColumn) {
		bounces, err = nil, nil // version 1 has no floor
	}
	if err != nil {
		return err
	}

	start := time.Now()
	removed, bounced := 0, 0
	for range steps {
		// Movement system: two columns, nothing else touched.
		ps, vs := sys.Pos.Slice(), sys.Vel.Slice()
		for i := range ps {
			ps[i].X += vs[i].X * dt
			ps[i].Y += vs[i].Y * dt
		}
		// Gravity system.
		for i := range vs {
			vs[i].Y -= 9.81 * dt
		}
		// Floor system (version 2): bounce, losing some speed.
		if bounces != nil {
			bs := bounces.Slice()
			for i := range ps {
				if ps[i].Y < floorY && vs[i].Y < 0 {
					ps[i].Y = floorY
					vs[i].Y *= -restitution
					bs[i]++
					bounced++
				}
			}
		}
		// Aging system: despawn by swap-remove, iterating backwards.
		ls := sys.Life.Slice()
		for i := len(ls) - 1; i >= 0; i-- {
			ls[i] -= dt
			if ls[i] <= 0 {
				if err := w.SwapRemove(i); err != nil {
					return err
				}
				removed++
				ls = sys.Life.Slice()
			}
		}
	}
	elapsed := time.Since(start)
	if err := w.Sync(); err != nil {
		return err
	}
	perStep := 0.0
	if steps > 0 {
		perStep = float64(elapsed.Nanoseconds()) / float64(steps*(w.Len()+removed/2))
	}
	fmt.Fprintf(out, "simulated %d steps in %v (%.1f ns per particle-step); %d bounces; despawned %d; %d alive, saved in %s\n",
		steps, elapsed.Round(time.Microsecond), perStep, bounced, removed, w.Len(), dir)
	return w.Close()
}

// describe says what a schema change did, from the manifest's history
// entries: "add Bounces; widen Life (float32 to float64)".
func describe(ch []persistence.SchemaChange) string {
	var parts []string
	for _, c := range ch {
		s := c.Op + " " + c.Name
		switch {
		case c.Op == "widen" && c.OldLayout != nil && c.Layout != nil:
			s += fmt.Sprintf(" (%s to %s)", kind(*c.OldLayout), kind(*c.Layout))
		case c.Op == "rename":
			s += " (was " + c.OldName + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// kind names a layout of one scalar by its kind, else gives it whole.
func kind(l persistence.Layout) string {
	if len(l.Leaves) == 1 && l.Leaves[0].Path == "" && len(l.Leaves[0].Dims) == 0 {
		return l.Leaves[0].Kind
	}
	return l.String()
}
