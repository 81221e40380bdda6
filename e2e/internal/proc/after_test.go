package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// probeEnv makes this test binary, run again by TestAfterTestsRunLast,
// register an AfterTests function and let the probe tests print.
const probeEnv = "PROC_AFTER_TESTS_PROBE"

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) != "" {
		AfterTests(func() { fmt.Println("probe: after 1") })
		AfterTests(func() { fmt.Println("probe: after 2") })
	}
	os.Exit(RunTests(m))
}

func TestProbeA(t *testing.T) { probe(t, "A") }
func TestProbeB(t *testing.T) { probe(t, "B") }
func TestProbeC(t *testing.T) { probe(t, "C") }

// TestProbeZFails fails in the child, so that the functions also run
// after a failed test and the exit code stays a failure.
func TestProbeZFails(t *testing.T) {
	probe(t, "Z")
	if os.Getenv(probeEnv) != "" {
		t.Error("failing on purpose")
	}
}

func probe(t *testing.T, name string) {
	if os.Getenv(probeEnv) == "" {
		t.Skip("only runs inside TestAfterTestsRunLast")
	}
	fmt.Println("probe: test " + name)
}

// TestAfterTestsRunLast runs this binary's probe tests in several shuffled
// orders and requires the AfterTests functions to run after all of them,
// once each, in the order registered, and the failing probe's exit code to
// survive.
func TestAfterTestsRunLast(t *testing.T) {
	for _, seed := range []string{"1", "2", "3", "4", "5"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestProbe", "-test.shuffle", seed, "-test.v")
		cmd.Env = append(os.Environ(), probeEnv+"=1")
		out, err := cmd.CombinedOutput()
		if _, failed := err.(*exec.ExitError); !failed {
			t.Fatalf("seed %s: the child ended with %v, want the failing probe's exit code\n%s", seed, err, out)
		}
		var got []string
		for _, l := range strings.Split(string(out), "\n") {
			if s, ok := strings.CutPrefix(l, "probe: "); ok {
				got = append(got, s)
			}
		}
		if len(got) != 6 || got[4] != "after 1" || got[5] != "after 2" {
			t.Fatalf("seed %s: probe lines %q, want the 4 tests, then after 1, after 2\n%s", seed, got, out)
		}
		tests := map[string]bool{}
		for _, l := range got[:4] {
			tests[l] = true
		}
		if len(tests) != 4 {
			t.Fatalf("seed %s: probe lines %q, want each of the 4 tests once before the after functions", seed, got)
		}
	}
}
