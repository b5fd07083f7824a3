package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mmapvec/persistence/bench"
)

// bar is one library-vs-peer ratio of the chart, with its goal when there is one.
type bar struct {
	label string
	ratio float64
	goal  float64 // 0: none
}

// bars collects every finite, positive library advantage over a peer.
func bars(results []*bench.Result) []bar {
	var bs []bar
	for _, r := range results {
		if r.Err != nil {
			continue
		}
		goals := map[string]float64{}
		for _, g := range r.W.Goals {
			if g.Peer != "" {
				goals[g.Peer] = g.Want
			}
		}
		for _, c := range r.W.Cases {
			if _, hasGoal := goals[c.Name]; c.Name == r.W.Lib || c.Self && !hasGoal {
				continue
			}
			x := r.Speedup(c.Name)
			if x <= 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				continue
			}
			bs = append(bs, bar{label: fmt.Sprintf("%s %s: vs %s", r.W.Name, r.W.Size, c.Name), ratio: x, goal: goals[c.Name]})
		}
	}
	return bs
}

// drawChart writes a horizontal bar chart of log10 ratios: a bar right of 1x
// means the library is ahead of that peer, a triangle marks the goal.
func drawChart(results []*bench.Result, path string) error {
	bs := bars(results)
	if len(bs) == 0 {
		return fmt.Errorf("chart: no ratios to draw")
	}
	p := plot.New()
	p.Title.Text = "Library advantage over each peer (median; log scale; right of 1x is better)"
	p.X.Label.Text = "peer cost / library cost"
	// Plotted top to bottom in report order.
	vals := make(plotter.Values, len(bs))
	labels := make([]string, len(bs))
	var goals plotter.XYs
	lo, hi := 0.0, 0.0
	for i, b := range bs {
		j := len(bs) - 1 - i
		vals[j] = math.Log10(b.ratio)
		labels[j] = b.label
		lo, hi = math.Min(lo, vals[j]), math.Max(hi, vals[j])
		if b.goal > 0 {
			g := math.Log10(b.goal)
			goals = append(goals, plotter.XY{X: g, Y: float64(j)})
			lo, hi = math.Min(lo, g), math.Max(hi, g)
		}
	}
	chart, err := plotter.NewBarChart(vals, vg.Points(9))
	if err != nil {
		return err
	}
	chart.Horizontal = true
	chart.Color = color.RGBA{R: 70, G: 110, B: 180, A: 255}
	chart.LineStyle.Width = 0
	p.Add(chart)
	one, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.5}, {X: 0, Y: float64(len(bs)) - 0.5}})
	if err != nil {
		return err
	}
	one.Color = color.Gray{Y: 60}
	p.Add(one)
	if len(goals) > 0 {
		s, err := plotter.NewScatter(goals)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 200, G: 40, B: 40, A: 255}, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}
		p.Add(s)
		p.Legend.Add("goal", s)
		p.Legend.Top = true
	}
	p.NominalY(labels...)
	p.X.Min, p.X.Max = math.Floor(lo), math.Ceil(hi)
	p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ts []plot.Tick
		for e := math.Ceil(min); e <= max; e++ {
			ts = append(ts, plot.Tick{Value: e, Label: fmt.Sprintf("%gx", math.Pow(10, e))})
		}
		return ts
	})
	p.Add(plotter.NewGrid())
	return p.Save(11*vg.Inch, vg.Length(len(bs))*0.24*vg.Inch+1.4*vg.Inch, path)
}
