//go:build chaos

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// ---- final report -----------------------------------------------------------

// TestChaosReport runs last (its file sorts last) and prints the table.
func TestChaosReport(t *testing.T) {
	time.Sleep(time.Second) // one more memory sample
	report.Lock()
	defer report.Unlock()
	var kinds []string
	total := 0
	for k, n := range report.faults {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "\n==== chaos report (run %s; tests: %s) ====\n", chaosRun, strings.Join(report.ran, ", "))
	for _, k := range kinds {
		fmt.Fprintf(&b, "  fault %-26s %6d\n", k, report.faults[k])
	}
	row := func(name string, v any) { fmt.Fprintf(&b, "  %-32s %6v\n", name, v) }
	row("faults total", total)
	row("events published (acknowledged)", report.published)
	row("events delivered", report.delivered)
	row("lost", report.lost)
	row("duplicated", report.duplicated)
	row("reordered", report.reordered)
	row("mercure-missed received", report.missed)
	row("leaked private events", report.leaked)
	row("allowed events missing", report.allowedMissing)
	row("bad inputs tried", report.badInputs)
	row("bad inputs accepted (2xx)", report.badAccepted)
	row("bad inputs answered 5xx", report.bad5x)
	row("known findings (see KNOWN lines)", report.known)
	row("crashes", report.crashes)
	row("peak RSS origin (MiB)", fmt.Sprintf("%.1f", float64(report.peakOriginRSS)/1024))
	row("peak RSS workerd sum (MiB)", fmt.Sprintf("%.1f", float64(report.peakWorkerdRSS)/1024))
	for _, l := range report.extra {
		row(l.name, l.value)
	}
	b.WriteString("==========================================\n")
	fmt.Print(b.String())
}
