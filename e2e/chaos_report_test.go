//go:build chaos

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
)

// ---- final report -----------------------------------------------------------

// The report is printed once every test of the binary has run (TestMain
// runs its tests through proc.RunTests), whatever order they ran in; see
// proc's TestAfterTestsRunLast for that guarantee.
func init() { proc.AfterTests(printChaosReport) }

// printChaosReport prints the table if any chaos test ran.
func printChaosReport() {
	report.Lock()
	ran := len(report.ran) > 0
	report.Unlock()
	if !ran {
		return
	}
	time.Sleep(time.Second) // one more memory sample
	report.Lock()
	defer report.Unlock()
	fmt.Print(report.table())
}

// table renders the report; the caller holds r's lock.
func (r *chaosReport) table() string {
	var kinds []string
	total := 0
	for k, n := range r.faults {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "\n==== chaos report (run %s; tests: %s) ====\n", chaosRun, strings.Join(r.ran, ", "))
	for _, k := range kinds {
		fmt.Fprintf(&b, "  fault %-26s %6d\n", k, r.faults[k])
	}
	row := func(name string, v any) { fmt.Fprintf(&b, "  %-32s %6v\n", name, v) }
	row("faults total", total)
	row("events published (acknowledged)", r.published)
	row("events delivered", r.delivered)
	row("lost", r.lost)
	row("duplicated", r.duplicated)
	row("reordered", r.reordered)
	row("mercure-missed received", r.missed)
	row("leaked private events", r.leaked)
	row("allowed events missing", r.allowedMissing)
	row("bad inputs tried", r.badInputs)
	row("bad inputs accepted (2xx)", r.badAccepted)
	row("bad inputs answered 5xx", r.bad5x)
	row("known findings (see KNOWN lines)", r.known)
	row("crashes", r.crashes)
	row("peak RSS origin (MiB)", fmt.Sprintf("%.1f", float64(r.peakOriginRSS)/1024))
	row("peak RSS workerd sum (MiB)", fmt.Sprintf("%.1f", float64(r.peakWorkerdRSS)/1024))
	for _, l := range r.extra {
		row(l.name, l.value)
	}
	b.WriteString("==========================================\n")
	return b.String()
}

// TestChaosReportTable renders a report with known numbers: every fault
// kind in name order with the total, every count, and the rows other
// tests added after the fixed rows in the order they were added.
func TestChaosReportTable(t *testing.T) {
	r := &chaosReport{
		faults:    map[string]int{"wrangler restart": 2, "origin SIGKILL": 3},
		published: 11, delivered: 222, lost: 1, duplicated: 2, reordered: 3, missed: 4,
		leaked: 5, allowedMissing: 6, badInputs: 77, badAccepted: 7, bad5x: 8, known: 9, crashes: 10,
		peakOriginRSS: 2048, peakWorkerdRSS: 3072,
		ran:   []string{"NothingLost", "BadInput"},
		extra: []reportLine{{"second row", "b"}, {"first row", "a"}},
	}
	got := r.table()
	want := []string{
		"tests: NothingLost, BadInput",
		"fault origin SIGKILL", "3",
		"fault wrangler restart", "2",
		"faults total", "5",
		"events published (acknowledged)", "11",
		"events delivered", "222",
		"lost", "1", "duplicated", "2", "reordered", "3",
		"mercure-missed received", "4",
		"leaked private events", "5",
		"allowed events missing", "6",
		"bad inputs tried", "77",
		"bad inputs accepted (2xx)", "7",
		"bad inputs answered 5xx", "8",
		"known findings", "9",
		"crashes", "10",
		"peak RSS origin (MiB)", "2.0",
		"peak RSS workerd sum (MiB)", "3.0",
		"second row", "b",
		"first row", "a",
	}
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("report lacks %q after the previous rows:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
}
