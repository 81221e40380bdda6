// Package e2e runs the whole system: a real origin process and the worker in
// real workerd (`wrangler dev`), driven by real clients (Go's HTTP client,
// the npm eventsource package and headless Chromium).
package e2e

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// feedSecret authenticates the worker on the origin's edge feed, generated
// for this run as `make dev` does: there is no well-known default.
var feedSecret = randomSecret()

// operatorToken is the operator credential of the worker's /_edge/stats
// (STATS_TOKEN) and of the origin's /metrics and /healthz detail
// (--metrics-token), generated for this run.
var operatorToken = randomSecret()

// randomSecret returns 32 random bytes, hex-encoded.
func randomSecret() string {
	b := make([]byte, 32)
	crand.Read(b)
	return hex.EncodeToString(b)
}

// sys is the system under test, started once by TestMain.
var sys struct {
	root      string
	originURL string
	edgeURL   string
	logDir    string
	origin    *process
	originBin string
	wrangler  *process
	// feed is the proxy the worker reaches the origin through (its
	// ORIGIN_URL), so that a test can cut the origin→edge feed.
	feed *feedProxy
	// appURL is a page server of another origin, which the worker's
	// CORS_ORIGINS lists (with credentials) besides "*".
	appURL string
}

// Test-friendly timings: client heartbeats every second find dead streams
// fast; a short feed timeout exercises the watchdog.
const (
	// jwtKey signs every test token; the origin and the worker both trust it.
	jwtKey            = "e2e-test-key-0123456789abcdef0123456789"
	clientHeartbeatMS = "1000"
	feedTimeoutMS     = "20000"
	originHeartbeat   = "2s"
	// ringSize is small so that tests can resume from ids older than the ring.
	ringSize = "64"
	// upstreamIdleMS is short so that a test can see the idle feed close.
	upstreamIdleMS = "3000"
	// clientQueue is small so that a stalled client is found quickly.
	clientQueue = "64"
	// clientStallMS drops a stream nobody reads within seconds.
	clientStallMS = "10000"
	// maxStreamMS bounds a client stream's life (45–60 s here), so that
	// long tests also see streams end and resume.
	maxStreamMS = "60000"
	// maxClients is the old default: the suite's load tests were sized
	// against it.
	maxClients = "10000"
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	proc.FinishLogs(sys.logDir, code != 0)
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	root, err := proc.Root()
	if err != nil {
		return 1, err
	}
	sys.root = root
	// workerd holds several descriptors per client stream (wrangler dev
	// proxies through a second workerd); the load tests need more than the
	// usual soft limit of 1024. Children inherit the raised limit.
	proc.RaiseFileLimit()
	if err := proc.CheckTree(root); err != nil {
		return 1, err
	}
	sys.logDir, err = os.MkdirTemp("", "edge-sse-e2e-")
	if err != nil {
		return 1, err
	}
	originBin, err := proc.OriginBinary(root, sys.logDir)
	if err != nil {
		return 1, err
	}

	// The worker's address is chosen first: the origin accepts
	// cookie-authorized publishes forwarded from its pages
	// (--publish-origins).
	sys.edgeURL = "http://" + freeAddr()
	app := startAppServer()
	defer app.Close()
	sys.appURL = app.URL
	if err := startOrigin(originBin); err != nil {
		return 1, err
	}
	defer sys.origin.stop()
	sys.feed, err = startFeedProxy(strings.TrimPrefix(sys.originURL, "http://"))
	if err != nil {
		return 1, err
	}
	defer sys.feed.close()
	if err := startWrangler(); err != nil {
		return 1, err
	}
	defer sys.wrangler.stop()
	return proc.RunTests(m), nil
}

func startOrigin(bin string) error {
	sys.originBin = bin
	// A restart keeps the address and the history file.
	p, err := startOriginAt("origin", strings.TrimPrefix(sys.originURL, "http://"),
		"--heartbeat", originHeartbeat,
		"--jwt-key", jwtKey, "--feed-secret", feedSecret,
		"--publish-origins", sys.edgeURL, "--history-path", filepath.Join(sys.logDir, "origin-history.db"),
		"--cors-origins", "*,"+sys.appURL) // the worker's CORS_ORIGINS
	if err != nil {
		return err
	}
	sys.origin, sys.originURL = p, p.url
	if sys.feed != nil {
		sys.feed.setTarget(strings.TrimPrefix(p.url, "http://"))
	}
	return nil
}

func startWrangler() error {
	originURL := sys.originURL
	if sys.feed != nil {
		originURL = sys.feed.url()
	}
	// A restart keeps the address and the state.
	p, err := startWorkerAt("wrangler", strings.TrimPrefix(sys.edgeURL, "http://"),
		// The bundle as it was when the run began, also after a restart:
		// a `make build` meanwhile must not change the worker under test.
		filepath.Join(sys.logDir, "bundle"),
		"ORIGIN_URL:"+originURL,
		"FEED_SECRET:"+feedSecret,
		"STATS_TOKEN:"+operatorToken,
		"DEV_PUBLISH_TOKEN:"+publisherToken,
		"CLIENT_HEARTBEAT_MS:"+clientHeartbeatMS,
		"FEED_TIMEOUT_MS:"+feedTimeoutMS,
		"JWT_KEY:"+jwtKey,
		"ALLOW_ANONYMOUS:true",
		"RING_SIZE:"+ringSize,
		"UPSTREAM_IDLE_MS:"+upstreamIdleMS,
		"CLIENT_QUEUE:"+clientQueue,
		"CLIENT_STALL_MS:"+clientStallMS,
		"MAX_STREAM_MS:"+maxStreamMS,
		// The load tests (flood, soak; their long forms) hold thousands of
		// streams on this one object, past the latency-sized default
		// (README, "Sizing").
		"MAX_CLIENTS:"+maxClients,
		"CORS_ORIGINS:*,"+sys.appURL,
	)
	if err != nil {
		return err
	}
	sys.wrangler, sys.edgeURL = p, p.url
	return nil
}

// startAppServer serves an empty page on a loopback port: the page of an
// app on another origin than the worker's (the port differs), for the
// cross-origin tests.
func startAppServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>an app on another origin</title>\n")
	}))
}

// startOriginAt starts this tree's origin, logging to name.log, on addr
// ("" for a free port) with flags after `serve --addr`, and waits until it
// is healthy.
func startOriginAt(name, addr string, flags ...string) (*process, error) {
	// Every origin of the run answers /metrics to the run's operator token;
	// an origin older than --metrics-token (E2E_ORIGIN_BIN) serves /metrics
	// to anyone. A flag of the test's own that the binary lacks fails
	// Start, naming it.
	have, err := proc.OriginFlags(sys.originBin)
	if err != nil {
		return nil, err
	}
	if have["metrics-token"] {
		flags = append([]string{"--metrics-token", operatorToken}, flags...)
	}
	s, err := proc.Origin{Bin: sys.originBin, Dir: sys.root, LogDir: sys.logDir, Name: name, Addr: addr, Flags: flags}.Start()
	if err != nil {
		return nil, err
	}
	return wrap(s), nil
}

// startTestOrigin starts this tree's origin for one test on a free port
// with flags after `serve --addr`, and stops it when the test ends.
func startTestOrigin(t testing.TB, name string, flags ...string) *process {
	t.Helper()
	p, err := startOriginAt(name, "", flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// startWorkerAt starts the worker bundle snapshotted to snapshot under
// wrangler's dev server, logging to name.log, on addr ("" for a free
// port) with its state in name-state and the given vars ("NAME:VALUE"),
// and waits until it is healthy.
func startWorkerAt(name, addr, snapshot string, vars ...string) (*process, error) {
	s, err := proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: name, Addr: addr,
		Snapshot: snapshot, Persist: filepath.Join(sys.logDir, name+"-state"), Vars: vars}.Start()
	if err != nil {
		return nil, err
	}
	return wrap(s), nil
}

// restartOrigin stops the origin (SIGTERM, a graceful shutdown) and starts
// it again on the same address with the same bbolt history file.
func restartOrigin(t testing.TB) {
	t.Helper()
	sys.origin.stop()
	if err := startOrigin(sys.originBin); err != nil {
		t.Fatal(err)
	}
}

// restartWrangler stops wrangler dev, so every hub object and client stream
// dies, and starts it again on the same address and state.
func restartWrangler(t testing.TB) {
	t.Helper()
	sys.wrangler.stop()
	if err := startWrangler(); err != nil {
		t.Fatal(err)
	}
}

// feedProxy is a TCP proxy between the worker and the origin: the worker's
// ORIGIN_URL points at it, so its feed, catch-up and publish connections
// all pass through, and a test can cut them in the middle of a frame. It
// dials the origin's current address for every connection it accepts, so
// it outlives origin restarts.
type feedProxy struct {
	ln     net.Listener
	target atomic.Pointer[string] // the origin's host:port
	cuts   atomic.Int64           // connections ended by cutMidFrame
	// gate, while set, holds new connections until it is closed (see hold).
	gate atomic.Pointer[chan struct{}]
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[*proxyConn]struct{} // nil once closed
}

// proxyConn is one proxied connection: the worker's side and the origin's.
type proxyConn struct {
	worker, origin net.Conn
	cut            atomic.Bool // end after part of the next bytes from the origin
	frozen         atomic.Bool // drop what the origin sends; keep the connection
}

func startFeedProxy(target string) (*feedProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("feed proxy: %w", err)
	}
	p := &feedProxy{ln: ln, conns: map[*proxyConn]struct{}{}}
	p.setTarget(target)
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// url is the proxy's base URL, the worker's ORIGIN_URL.
func (p *feedProxy) url() string { return "http://" + p.ln.Addr().String() }

// setTarget sets the origin address the next connections are dialled to.
func (p *feedProxy) setTarget(addr string) { p.target.Store(&addr) }

func (p *feedProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// handle copies both ways until either side ends, then closes both.
func (p *feedProxy) handle(worker net.Conn) {
	defer p.wg.Done()
	if g := p.gate.Load(); g != nil {
		<-*g
	}
	origin, err := net.DialTimeout("tcp", *p.target.Load(), 5*time.Second)
	if err != nil {
		worker.Close()
		return
	}
	pc := &proxyConn{worker: worker, origin: origin}
	p.mu.Lock()
	if p.conns == nil {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(origin, worker)
		pc.close()
		close(done)
	}()
	io.Copy(cutWriter{p, pc}, origin)
	pc.close()
	<-done
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

func (pc *proxyConn) close() {
	pc.worker.Close()
	pc.origin.Close()
}

// errCut ends a proxied connection on purpose.
var errCut = errors.New("feed proxy: connection cut")

// cutWriter writes what the origin sends to the worker; once its
// connection is marked for a cut, it writes only part of the next read
// (at least one byte, and at least one byte short of it) and ends the
// connection, so the cut lands inside whatever that read carried.
type cutWriter struct {
	p  *feedProxy
	pc *proxyConn
}

func (w cutWriter) Write(b []byte) (int, error) {
	if w.pc.frozen.Load() {
		return len(b), nil // the worker hears nothing, not even heartbeats
	}
	if len(b) == 0 || !w.pc.cut.Load() {
		return w.pc.worker.Write(b)
	}
	k := 0
	if len(b) > 1 {
		k = 1 + rand.IntN(len(b)-1)
	}
	n, _ := w.pc.worker.Write(b[:k])
	w.p.cuts.Add(1)
	return n, errCut
}

// cutMidFrame marks every open connection to be cut inside the next bytes
// the origin sends on it, and returns how many it marked; cuts counts the
// cuts as they happen.
func (p *feedProxy) cutMidFrame() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.cut.Store(true)
	}
	return len(p.conns)
}

// freeze makes every open connection silent: what the origin sends is
// dropped, the connections stay open. New connections are not affected.
// It returns how many it froze.
func (p *feedProxy) freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.frozen.Store(true)
	}
	return len(p.conns)
}

// hold makes the proxy keep every connection it accepts from now on
// waiting, not yet dialled to the origin, until release; open connections
// are not affected.
func (p *feedProxy) hold() {
	g := make(chan struct{})
	p.gate.Store(&g)
}

// release lets the held connections, and new ones, through.
func (p *feedProxy) release() {
	if g := p.gate.Swap(nil); g != nil {
		close(*g)
	}
}

// close stops accepting, ends every open connection and waits for the
// copying goroutines.
func (p *feedProxy) close() {
	p.release()
	p.ln.Close()
	p.mu.Lock()
	for pc := range p.conns {
		pc.close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// process is a server started through e2e/internal/proc (own process
// group, log file, killed with the test binary, healthy when returned);
// the fields are the ones the tests read.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	url  string // http://host:port
	p    *proc.Process
}

func wrap(s *proc.Server) *process {
	return &process{name: s.Name, cmd: s.Cmd, log: s.Log, done: s.Done, url: s.URL, p: s.Process}
}

// stop ends the whole process group: SIGTERM, then SIGKILL after 5 s.
func (p *process) stop() { p.p.Stop() }

// tail returns the end of the process's log, for failure messages.
func (p *process) tail() string { return p.p.Tail() }

func freeAddr() string { return proc.FreeAddr() }

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// publish posts an update to base (the origin or the edge front door) and
// returns the event id the hub acknowledged.
func publish(t testing.TB, base string, form url.Values) string {
	t.Helper()
	id, err := tryPublish(base, form)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryPublish is publish for goroutines other than the test's own.
func tryPublish(base string, form url.Values) (string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/.well-known/mercure", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+publisherToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("publish: %s: %s", resp.Status, body)
	}
	return string(body), nil
}

// publisherToken may publish to every topic.
var publisherToken = mustToken(auth.Claims{Form: auth.FormLegacy, Publish: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, time.Hour)

// mustToken signs claims with jwtKey.
func mustToken(c auth.Claims, ttl time.Duration) string {
	tok, err := auth.Sign(c, []byte(jwtKey), "HS256", ttl)
	if err != nil {
		panic(err)
	}
	return tok
}

// subscriberToken grants the private updates of the given topics.
func subscriberToken(ttl time.Duration, topics ...string) string {
	var c auth.Claims
	for _, t := range topics {
		c.Subscribe = append(c.Subscribe, auth.Matcher{Match: t, Type: auth.MatchExact})
	}
	return mustToken(c, ttl)
}

// hubStats reads the EdgeHub object's counters through the worker.
func hubStats(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	getJSON(t, sys.edgeURL+"/_edge/stats", &m)
	return m
}

// getJSON decodes the answer to a GET of u that carries the operator
// token (the endpoints that answer JSON are the operators').
func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := operatorGet(http.DefaultClient, u)
	if err != nil {
		t.Fatalf("get %s: %v", u, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("get %s: %v", u, err)
	}
}

// operatorGet GETs u with c, presenting operatorToken.
func operatorGet(c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	return c.Do(req)
}

func subscribers(t testing.TB) int {
	return int(hubStats(t)["subscribers"].(float64))
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cond()
}

// uniqueTopic returns a topic no other test uses.
func uniqueTopic(t testing.TB, name string) string {
	return fmt.Sprintf("https://example.com/e2e/%s/%d", name, time.Now().UnixNano())
}

// nodeClient runs one of the e2e/clients scripts and returns its JSON lines
// on a channel.
func nodeClient(t *testing.T, ctx context.Context, script string, args ...string) <-chan map[string]any {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(sys.root, "e2e", "clients", script)}, args...)...)
	cmd.Dir = sys.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 64)
	go func() {
		defer close(lines)
		dec := json.NewDecoder(out)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				break
			}
			lines <- m
		}
		cmd.Wait()
		if cmd.ProcessState != nil && !cmd.ProcessState.Success() && ctx.Err() == nil {
			t.Logf("%s stderr:\n%s", script, stderr.String())
		}
	}()
	return lines
}
