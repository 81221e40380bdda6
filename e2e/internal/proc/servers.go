package proc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Root returns the repository root: the nearest directory at or above
// the working directory that holds go.mod (a test runs in its package's
// directory).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

// CheckTree reports what is missing before a worker can run from root:
// wrangler (npm ci) and the worker bundle (make build).
func CheckTree(root string) error {
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "wrangler")); err != nil {
		return errors.New("wrangler is not installed: run `npm ci` at the repository root (make test does)")
	}
	if _, err := os.Stat(filepath.Join(root, "worker", "build", "app.wasm")); err != nil {
		return errors.New("worker bundle missing: run `make build` first (make test does)")
	}
	return nil
}

// OriginBinary returns the origin to run: E2E_ORIGIN_BIN when set (a
// prebuilt origin, for instance when this tree's does not compile), else
// this tree's ./origin/cmd/origin built into dir.
func OriginBinary(root, dir string) (string, error) {
	if bin := os.Getenv("E2E_ORIGIN_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "origin")
	build := exec.Command("go", "build", "-o", bin, "./origin/cmd/origin")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build origin: %v\n%s\n(set E2E_ORIGIN_BIN to a prebuilt origin to run with it)", err, out)
	}
	return bin, nil
}

// originFlags caches OriginFlags by binary.
var originFlags sync.Map

// usageFlag matches a flag's line in the usage Go's flag package prints:
// two spaces, a dash and the name.
var usageFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9._-]*)`)

// OriginFlags returns the names (without dashes) of the flags bin's
// `serve` offers, as its usage (`serve -h`) lists them: E2E_ORIGIN_BIN may
// be an origin older than the flags this tree's tests pass.
func OriginFlags(bin string) (map[string]bool, error) {
	if m, ok := originFlags.Load(bin); ok {
		return m.(map[string]bool), nil
	}
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput() // -h exits 0 or 2
	m := map[string]bool{}
	for _, sm := range usageFlag.FindAllSubmatch(out, -1) {
		m[string(sm[1])] = true
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s serve -h lists no flags; is it an origin binary?\n%s", bin, out)
	}
	originFlags.Store(bin, m)
	return m, nil
}

// flagArg matches an argument that is a flag (-name, --name or
// --name=value), not a value such as -1s.
var flagArg = regexp.MustCompile(`^--?([A-Za-z][A-Za-z0-9._-]*)(=|$)`)

// MissingOriginFlags returns the flags among args (as Origin.Flags gives
// them) that bin's serve does not offer, each as "--name".
func MissingOriginFlags(bin string, args []string) ([]string, error) {
	have, err := OriginFlags(bin)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, a := range args {
		if m := flagArg.FindStringSubmatch(a); m != nil && !have[m[1]] {
			missing = append(missing, "--"+m[1])
		}
	}
	return missing, nil
}

// FinishLogs removes a run's log directory after it passed and keeps it
// after it failed, saying where on stderr.
func FinishLogs(dir string, failed bool) {
	if dir == "" {
		return
	}
	if failed {
		fmt.Fprintln(os.Stderr, "logs kept in", dir)
		return
	}
	os.RemoveAll(dir)
}

// Server is a started origin or worker that answered its /healthz.
type Server struct {
	*Process
	URL string // http://host:port
}

// Origin is how to start an origin process.
type Origin struct {
	Bin    string // the origin binary (OriginBinary)
	Dir    string // its working directory
	LogDir string // receives Name.log
	Name   string
	Addr   string // host:port to listen on; "" picks a free loopback port
	// Flags follow `serve --addr Addr`.
	Flags []string
}

// Start runs `Bin serve --addr Addr Flags…` and waits up to 20 s for its
// /healthz; a process that does not get healthy is stopped. A binary that
// lacks one of the flags (an older E2E_ORIGIN_BIN) is not started: the
// error names the flags missing.
func (o Origin) Start() (*Server, error) {
	missing, err := MissingOriginFlags(o.Bin, o.Flags)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("origin %s (E2E_ORIGIN_BIN, if set) has no %s, which %s needs: it is older than this tree's tests; use a newer origin, or run only the tests that do not need these flags",
			o.Bin, strings.Join(missing, ", "), o.Name)
	}
	addr := o.Addr
	if addr == "" {
		addr = FreeAddr()
	}
	args := append([]string{"serve", "--addr", addr}, o.Flags...)
	p, err := Start(o.Dir, o.LogDir, o.Name, o.Bin, nil, args...)
	if err != nil {
		return nil, err
	}
	return healthy(p, addr, 20*time.Second)
}

// Worker is how to run a worker under wrangler's dev server (real
// workerd) through e2e/wrangler-dev.mjs.
type Worker struct {
	Root   string // the repository: e2e/wrangler-dev.mjs, wrangler.toml
	Dir    string // the launcher's working directory; "" is Root
	LogDir string // receives Name.log
	Name   string
	Addr   string // host:port to listen on; "" picks a free loopback port
	// Config is the wrangler.toml to run; "" is the repository's.
	Config string
	// Snapshot, when set, is where the launcher copies the config and its
	// bundle before the first start and runs that copy from then on, so
	// that a `make build` during a run cannot change the worker under test.
	Snapshot string
	// Persist is the dev server's state directory (Durable Object storage).
	Persist string
	// Vars are the worker's vars, "NAME:VALUE" each.
	Vars []string
	// Inspector, when not 0, is the port of the dev server's DevTools
	// inspector (off otherwise: see e2e/wrangler-dev.mjs). The edge
	// benchmark reads the isolate's heap through it.
	Inspector int
	// Timeout bounds the wait for /healthz (workerd starts in 5–20 s on
	// an idle machine); 0 is 90 s.
	Timeout time.Duration
}

// Start launches the worker and waits for its /healthz; a worker that
// does not get healthy is stopped.
func (w Worker) Start() (*Server, error) {
	s, err := w.Launch()
	if err != nil {
		return nil, err
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	if err := WaitHTTP(s.URL+"/healthz", timeout, s.Process); err != nil {
		s.Process.Stop()
		return nil, err
	}
	return s, nil
}

// Launch starts the worker without waiting for it: for a test of a worker
// that is meant never to report healthy.
func (w Worker) Launch() (*Server, error) {
	addr := w.Addr
	if addr == "" {
		addr = FreeAddr()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(w.Root, "e2e", "wrangler-dev.mjs"), "--ip", host, "--port", port}
	if w.Config != "" {
		args = append(args, "--config", w.Config)
	}
	if w.Snapshot != "" {
		args = append(args, "--snapshot", w.Snapshot)
	}
	if w.Persist != "" {
		args = append(args, "--persist-to", w.Persist)
	}
	for _, v := range w.Vars {
		args = append(args, "--var", v)
	}
	if w.Inspector != 0 {
		args = append(args, "--inspector-port", fmt.Sprint(w.Inspector))
	}
	dir := w.Dir
	if dir == "" {
		dir = w.Root
	}
	p, err := Start(dir, w.LogDir, w.Name, "node", []string{"WRANGLER_SEND_METRICS=false"}, args...)
	if err != nil {
		return nil, err
	}
	return &Server{Process: p, URL: "http://" + addr}, nil
}

// healthy waits for p's /healthz at addr and stops p if it does not answer.
func healthy(p *Process, addr string, timeout time.Duration) (*Server, error) {
	s := &Server{Process: p, URL: "http://" + addr}
	if err := WaitHTTP(s.URL+"/healthz", timeout, p); err != nil {
		p.Stop()
		return nil, err
	}
	return s, nil
}
