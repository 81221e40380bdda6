// Command wasmnames prints the function index and name of every function
// in a WebAssembly module's name section, one "index name" per line: the
// names V8's profiles show as wasm-function[index] when the module was
// built without them (the worker is built with -ldflags=-s; build the same
// code without -s for this, the function indices are the same).
//
// Usage: go run ./e2e/bench/profile/wasmnames app.wasm > names.txt
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmnames app.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = printNames(b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmnames:", err)
		os.Exit(1)
	}
}

// printNames walks the module's sections to the custom "name" section and
// prints its function names subsection (id 1).
func printNames(b []byte) error {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return errors.New("not a WebAssembly module")
	}
	r := reader{b: b, i: 8}
	for r.i < len(b) {
		id := r.byte()
		end := r.i + int(r.uint())
		if id == 0 && r.name() == "name" {
			for r.i < end {
				sub := r.byte()
				subEnd := r.i + int(r.uint())
				if sub == 1 {
					for n := r.uint(); n > 0; n-- {
						idx := r.uint()
						fmt.Println(idx, r.name())
					}
					return r.err
				}
				r.i = subEnd
			}
		}
		r.i = end
		if r.err != nil {
			return r.err
		}
	}
	return errors.New("no name section: build without -ldflags=-s")
}

type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		r.err = errors.New("truncated module")
		r.i = len(r.b)
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *reader) uint() uint64 {
	if r.i >= len(r.b) {
		r.err = errors.New("truncated module")
		return 0
	}
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		r.err = errors.New("bad LEB128 number")
		r.i = len(r.b)
		return 0
	}
	r.i += n
	return v
}

func (r *reader) name() string {
	n := int(r.uint())
	if r.i+n > len(r.b) {
		r.err = errors.New("truncated module")
		r.i = len(r.b)
		return ""
	}
	s := string(r.b[r.i : r.i+n])
	r.i += n
	return s
}
