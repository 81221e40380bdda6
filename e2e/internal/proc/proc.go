// Package proc is the start-up code of the end-to-end tests (e2e), the
// chaos suite (e2e, -tags chaos) and the edge benchmark (e2e/bench), kept
// in one place:
//
//   - the children: each in its own process group (so stopping it ends
//     workerd too), logging to a file, and killed with its parent
//     (Pdeathsig), so that a test binary killed by `go test -timeout`
//     leaves nothing behind (Start, Process);
//   - the servers: the repository and what it must provide (Root,
//     CheckTree), the origin binary (OriginBinary; the flags a prebuilt
//     one offers, OriginFlags), an origin on a free port (Origin, which
//     refuses to start a binary lacking a flag it is given) and the
//     worker under wrangler's dev server (Worker), each returned once its
//     /healthz answers; log directories kept only when a run fails
//     (FinishLogs);
//   - the test binary's frame: functions that run after every test
//     (AfterTests, RunTests), such as the chaos suite's report.
package proc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Process is a started child.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	// Log is the file that receives the child's stdout and stderr.
	Log string
	// Done is closed when the child has exited.
	Done chan struct{}
}

// Start runs bin with args in dir, its environment plus env, logging to
// logDir/name.log.
func Start(dir, logDir, name, bin string, env []string, args ...string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Cmd: cmd, Log: logPath, Done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.Done) }()
	return p, nil
}

// Pid is the child's process id, which is also its process group id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Stop ends the whole process group: SIGTERM, then SIGKILL after 5 s. A
// nil Process is a no-op.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	syscall.Kill(-p.Pid(), syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.Done
	}
}

// Kill ends the whole process group with SIGKILL (no graceful shutdown)
// and waits for the child.
func (p *Process) Kill() {
	syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.Done
}

// Tail returns the last 40 lines of the log, without wrangler's noise
// about the Request.cf lookup it cannot make offline.
func (p *Process) Tail() string {
	b, _ := os.ReadFile(p.Log)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "Request.cf") || strings.Contains(l, "getaddrinfo") || strings.Contains(l, "GetAddrInfo") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	return strings.Join(keep, "\n")
}

// WaitHTTP waits until u answers 200, the child exits, or timeout.
func WaitHTTP(u string, timeout time.Duration, p *Process) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited early:\n%s", p.Name, p.Tail())
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after %s:\n%s", p.Name, u, timeout, p.Tail())
}

// FreeAddr returns a loopback address with a port nobody listens on.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit and returns
// the new soft limit: load tests hold thousands of connections, and
// workerd, which inherits the limit, several descriptors per client
// stream.
func RaiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}
