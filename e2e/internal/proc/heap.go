package proc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// HeapUsage is V8's Runtime.getHeapUsage answer, in bytes.
type HeapUsage struct {
	Used     float64 `json:"usedSize"`
	Total    float64 `json:"totalSize"`
	Embedder float64 `json:"embedderHeapUsedSize"`
	Backing  float64 `json:"backingStorageSize"`
}

// HeapReader reads a worker isolate's heap after a garbage collection
// through the DevTools inspector of wrangler's dev server (Worker with
// Inspector set), over one connection for its whole life: it runs
// e2e/bench/heapusage.mjs, which says why.
type HeapReader struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
}

// StartHeapReader connects to the inspector on port; poke is a cheap URL
// of the worker that heapusage.mjs requests (with bearer, if not empty)
// until each inspector command is answered.
func StartHeapReader(root string, port int, poke, bearer string) (*HeapReader, error) {
	cmd := exec.Command("node", filepath.Join(root, "e2e", "bench", "heapusage.mjs"), strconv.Itoa(port), poke)
	cmd.Dir = root
	cmd.Env = os.Environ()
	if bearer != "" {
		cmd.Env = append(cmd.Env, "HEAPUSAGE_BEARER="+bearer)
	}
	r := &HeapReader{cmd: cmd}
	cmd.Stderr = &r.stderr
	var err error
	if r.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r.out = bufio.NewScanner(out)
	return r, nil
}

// Read collects garbage in the isolate and returns its heap usage.
func (r *HeapReader) Read() (HeapUsage, error) {
	var h HeapUsage
	if _, err := io.WriteString(r.in, "measure\n"); err != nil {
		return h, fmt.Errorf("heapusage.mjs: %v: %s", err, bytes.TrimSpace(r.stderr.Bytes()))
	}
	if !r.out.Scan() {
		return h, fmt.Errorf("heapusage.mjs gave no reading: %v %s", r.out.Err(), bytes.TrimSpace(r.stderr.Bytes()))
	}
	err := json.Unmarshal(r.out.Bytes(), &h)
	return h, err
}

// Close ends the reader.
func (r *HeapReader) Close() {
	r.in.Close()
	r.cmd.Process.Kill()
	r.cmd.Wait()
}
