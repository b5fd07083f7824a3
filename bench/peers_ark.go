package bench

import "github.com/mlange-42/ark/ecs"

// Ark stores one column per component type, so each field of Row is its own component.
type (
	ArkID    struct{ V int64 }
	ArkTS    struct{ V int64 }
	ArkValue struct{ V float64 }
	ArkCount struct{ V uint64 }
)

// ArkStore is an Ark world holding Row entities.
type ArkStore struct {
	World *ecs.World
	m     *ecs.Map4[ArkID, ArkTS, ArkValue, ArkCount]
}

// NewArkStore starts from Ark's default capacity, so growth is included as it
// is for every other contender.
func NewArkStore() *ArkStore {
	w := ecs.NewWorld()
	return &ArkStore{World: w, m: ecs.NewMap4[ArkID, ArkTS, ArkValue, ArkCount](w)}
}

// Append creates one entity per row.
func (s *ArkStore) Append(r Row) {
	s.m.NewEntity(&ArkID{r.ID}, &ArkTS{r.TS}, &ArkValue{r.Value}, &ArkCount{r.Count})
}

// AppendRows uses Ark's batch creation, filling components in place.
func (s *ArkStore) AppendRows(rs []Row) {
	i := 0
	s.m.NewBatchFn(len(rs), func(_ ecs.Entity, id *ArkID, ts *ArkTS, v *ArkValue, c *ArkCount) {
		r := rs[i]
		id.V, ts.V, v.V, c.V = r.ID, r.TS, r.Value, r.Count
		i++
	})
}

// SumValues is Ark's query loop over one component.
func (s *ArkStore) SumValues() float64 {
	q := ecs.NewFilter1[ArkValue](s.World).Query()
	var t float64
	for q.Next() {
		t += q.Get().V
	}
	return t
}

// Len counts the entities holding all four components.
func (s *ArkStore) Len() int {
	q := ecs.NewFilter4[ArkID, ArkTS, ArkValue, ArkCount](s.World).Query()
	n := q.Count()
	q.Close()
	return n
}
