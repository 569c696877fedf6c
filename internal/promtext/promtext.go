// Package promtext reads back what a VictoriaMetrics set writes, for the
// tests of packages that expose metrics: every sample by its full name,
// labels included. It is ordinary code, not a _test.go file, so that the
// tests of several packages can import it; no library package imports it.
package promtext

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Samples returns every sample set writes in the Prometheus text format,
// keyed by name with labels (`name{k="v"}`), skipping comment lines. A line
// whose value does not parse is an error.
func Samples(set *metrics.Set) (map[string]float64, error) {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
