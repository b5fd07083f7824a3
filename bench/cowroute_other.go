//go:build !linux

package bench

import (
	"errors"
)

// Finding private copies needs /proc/self/pagemap: the route's workloads
// run on Linux alone.
const cowRouteOS = false

var errNoPagemap = errors.New("no /proc/self/pagemap on this system")

func (s *cowFile) changed(*cowMap, []int) ([]int, error) { return nil, errNoPagemap }
func (s *cowFile) fileMapped(*cowMap, int) (int, error)  { return 0, errNoPagemap }
func (s *cowFile) anonBytes(*cowMap) (int64, error)      { return 0, errNoPagemap }

type pageRegion struct{ start, end, categories uint64 }

func (s *cowFile) scanChanged(*cowMap, []int) ([]int, error) { return nil, errNoPagemap }
func pagemapScanWorks() bool                                 { return false }
