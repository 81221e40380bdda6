package bench

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
)

// rawServer is the ceiling the hub is compared with: it answers every
// connection with the same response head as the hub, then writes the
// pre-encoded chunks to every connection from one goroutine per CPU, with
// no HTTP server and no per-connection goroutine. Like the hub's handlers,
// which write what is queued before they flush, a writer coalesces the
// events waiting for it into one write per connection.
type rawServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	work  []chan []byte
	wg    sync.WaitGroup
}

const rawHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n"

func startRaw() (*rawServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.handshake(c)
		}
	}()
	return s, nil
}

// handshake reads the request head and writes the response head and the
// same first comment as the hub.
func (s *rawServer) handshake(c net.Conn) {
	br := bufio.NewReaderSize(c, 1024)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return
		}
		if len(line) <= 2 {
			break
		}
	}
	if _, err := io.WriteString(c, rawHead+chunk(":\n\n")); err != nil {
		c.Close()
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *rawServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// startWriters splits the connections among one writer per CPU.
func (s *rawServer) startWriters() {
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		ch := make(chan []byte, 1024)
		s.work = append(s.work, ch)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var buf []byte
			for b := range ch {
				buf = append(buf[:0], b...)
				for n := len(ch); n > 0; n-- {
					buf = append(buf, <-ch...)
				}
				for i := w; i < len(conns); i += workers {
					conns[i].Write(buf)
				}
			}
		}()
	}
}

// publish hands one pre-encoded chunk to every writer.
func (s *rawServer) publish(b []byte) {
	for _, ch := range s.work {
		ch <- b
	}
}

func (s *rawServer) close() {
	s.ln.Close()
	for _, ch := range s.work {
		close(ch)
	}
	s.wg.Wait()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// chunk frames b as one HTTP/1.1 chunk.
func chunk(b string) string {
	return strconv.FormatInt(int64(len(b)), 16) + "\r\n" + b + "\r\n"
}
