//go:build linux

package h1

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// sockIO reads and writes a connection's socket with raw system calls,
// still waiting through the runtime's network poller (deadlines, Close and
// EAGAIN behave as with net.Conn).
//
// Why: a read or write on a non-blocking socket never blocks, but through
// net.Conn it goes through syscall.Syscall, which tells the scheduler the
// thread may block. On loopback a write runs the receiver's whole TCP input
// path and often loses the CPU to the process it wakes; the scheduler's
// monitor then sees a "long" system call, hands the P to another thread and
// stays on its 20 µs polling interval. scripts/bench-lb.sh measured that
// churn at about a tenth of the balancer's CPU. HAProxy, the yardstick,
// makes the same calls without it.
type sockIO struct {
	r sockHalf // the reader's state
	w sockHalf // the writer's, apart: a body may be written while the answer is read

	// Writes held for the next read (deferWrite), which sends them from
	// inside its wait (sendThenRead): pend.buf the bytes, pend.n those sent.
	deferring bool
	pend      sockHalf
	sendRead  func(fd uintptr) bool

	// A wait held open by holdRead: Read makes single reads on heldFD
	// while holding is set.
	holding bool
	heldFD  uintptr
	heldFn  func() bool
	held    func(fd uintptr) bool

	// peek's state: its one attempt, the byte it may read, its errno.
	peekFn  func(fd uintptr) bool
	peekBuf [1]byte
	peekErr syscall.Errno
}

// sockHalf is one direction's call in progress.
type sockHalf struct {
	buf  []byte
	n    int
	err  syscall.Errno
	fn   func(fd uintptr) bool             // one attempt: false to wait for the poller
	wait func(func(fd uintptr) bool) error // the RawConn's Read or Write
}

// newSockIO returns the reader and writer to use for nc: a sockIO when nc is
// a socket, else nc itself.
func newSockIO(nc net.Conn) io.ReadWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	s := &sockIO{}
	s.r.fn, s.r.wait = s.r.readFD, rc.Read
	s.w.fn, s.w.wait = s.w.writeFD, rc.Write
	s.sendRead = s.sendThenRead
	s.held = s.heldAttempt
	s.peekFn = s.peekAttempt
	return s
}

// ioSync orders reads after the writes they answer for the race detector,
// as the syscall package does with its own.
var ioSync atomic.Int64

func (h *sockHalf) readFD(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&h.buf[0])), uintptr(len(h.buf)))
		switch e {
		case 0:
			h.n = int(r)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			h.err = e
			return true
		}
	}
}

func (h *sockHalf) writeFD(fd uintptr) bool {
	for h.n < len(h.buf) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&h.buf[h.n])), uintptr(len(h.buf)-h.n))
		switch e {
		case 0:
			h.n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			h.err = e
			return true
		}
	}
	return true
}

// run makes one call with p, through the poller, and returns the bytes
// moved and the first error.
func (h *sockHalf) run(p []byte) (int, error) {
	h.buf, h.n, h.err = p, 0, 0
	err := h.wait(h.fn)
	n := h.n
	if err == nil && h.err != 0 {
		err = h.err
	}
	h.buf = nil
	return n, err
}

// deferWrite, while on, holds what is written until the next Read, which
// sends it and then waits for the answer without first trying a read that
// would find nothing (EAGAIN): one system call less per exchange with a
// target. Only for a connection that nothing else writes to meanwhile.
//
// Why it is safe: RawConn.Read clears the poller's record of readiness
// before its first attempt, which is why net.Conn must try a read first.
// Here the request is written inside that first attempt, after the clearing,
// so whatever answers it (data, FIN, RST) arrives as a fresh edge and wakes
// the wait. A FIN that came earlier, while the connection sat idle, is not
// fresh: the pool peeks at connections idle for a while before reusing
// them (Client.get, peekAfter).
func (s *sockIO) deferWrite(on bool) { s.deferring = on }

// sendThenRead is the RawConn.Read callback of a Read with writes pending:
// the first call sends them and asks to wait; the others read.
func (s *sockIO) sendThenRead(fd uintptr) bool {
	p := &s.pend
	if p.n == len(p.buf) {
		return s.r.readFD(fd)
	}
	if !p.writeFD(fd) {
		return true // the socket buffer is full: Read sends the rest, waiting for room
	}
	return p.err != 0 // sent: wait for the answer
}

// sendPending sends the held writes, then reads into p as sendThenRead does.
// It reports done false when the read is still to be made.
func (s *sockIO) sendPending(p []byte) (n int, done bool, err error) {
	s.pend.n, s.pend.err = 0, 0
	s.r.buf, s.r.n, s.r.err = p, 0, 0
	err = s.r.wait(s.sendRead)
	n, rerr := s.r.n, s.r.err
	s.r.buf = nil
	pend, sent, werr := s.pend.buf, s.pend.n, s.pend.err
	s.pend.buf = s.pend.buf[:0]
	switch {
	case werr != 0:
		return 0, true, os.NewSyscallError("write", werr)
	case sent < len(pend) && err != nil:
		return 0, true, err
	case sent < len(pend):
		// The socket buffer was full: the rest goes out with waits, and
		// the read is made as usual.
		if _, err := s.w.run(pend[sent:]); err != nil {
			if errno, ok := err.(syscall.Errno); ok {
				err = os.NewSyscallError("write", errno)
			}
			return 0, true, err
		}
		return 0, false, nil
	case err != nil:
		return n, true, err
	}
	n, err = readResult(n, rerr)
	return n, true, err
}

// alive peeks at an idle socket without blocking (recv with MSG_PEEK): a
// socket the peer closed or reset reads EOF or an error at once, a live one
// has nothing to read (EAGAIN). A raw system call, as Read's, and nothing
// allocated: the pool peeks at every connection it reuses after a pause.
func (s *sockIO) alive() bool {
	s.peekErr = 0
	err := s.r.wait(s.peekFn)
	return err == nil && s.peekErr == syscall.EAGAIN
}

func (s *sockIO) peekAttempt(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.peekBuf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			s.peekErr = e
			return true
		}
	}
}

// holdRead calls f inside one RawConn.Read: at once, and again each time
// the socket may have become readable, until f returns true. Meanwhile Read
// makes one read and returns errWouldBlock when nothing is there, instead of
// waiting. It returns the wait's error (deadline, Close).
//
// Why: RawConn.Read (and so net.Conn's Read) clears the poller's record of
// readiness when it starts, so a read that follows other work must first
// try the socket to learn whether something came meanwhile: between two
// keep-alive requests that is a read that finds nothing (EAGAIN) on nearly
// every request. Inside one RawConn.Read the record is kept: what arrives
// while f works wakes the next wait, so f, once it has read everything
// there was, may wait without trying.
//
// While f runs the connection's read lock is held: Close from another
// goroutine waits for f to return (SetDeadline does not), and nothing else
// may read the connection (conn.serveHeld hands upgrades and bodies
// to its general path).
func (s *sockIO) holdRead(f func() bool) error {
	s.heldFn = f
	defer func() { s.holding, s.heldFn = false, nil }()
	return s.r.wait(s.held)
}

func (s *sockIO) heldAttempt(fd uintptr) bool {
	s.holding, s.heldFD = true, fd
	return s.heldFn()
}

// readHeld is Read inside holdRead: one read.
func (s *sockIO) readHeld(p []byte) (int, error) {
	s.r.buf, s.r.n, s.r.err = p, 0, 0
	ok := s.r.readFD(s.heldFD)
	n, errno := s.r.n, s.r.err
	s.r.buf = nil
	if raceEnabled {
		ioSync.Add(1)
	}
	if !ok {
		return 0, errWouldBlock
	}
	return readResult(n, errno)
}

// readResult is what Read returns for a read(2) that gave n bytes or errno:
// an *os.SyscallError for errno, io.EOF for 0 bytes.
func readResult(n int, errno syscall.Errno) (int, error) {
	switch {
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (s *sockIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.holding {
		return s.readHeld(p)
	}
	if len(s.pend.buf) > 0 {
		n, done, err := s.sendPending(p)
		if raceEnabled {
			ioSync.Add(1)
		}
		if done {
			return n, err
		}
	}
	n, err := s.r.run(p)
	if raceEnabled {
		ioSync.Add(1)
	}
	if errno, ok := err.(syscall.Errno); ok {
		return readResult(0, errno)
	}
	if err != nil {
		return n, err
	}
	return readResult(n, 0)
}

func (s *sockIO) Write(p []byte) (int, error) {
	if raceEnabled {
		ioSync.Add(1)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.deferring {
		s.pend.buf = append(s.pend.buf, p...)
		return len(p), nil
	}
	n, err := s.w.run(p)
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError("write", errno)
	}
	return n, err
}
