package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	contentSize = 4 << 20
	mib         = 1 << 20
)

// testContent returns contentSize deterministic pseudo-random bytes and
// their SHA-256 digest (computed here with crypto/sha256, independently of
// the package under test).
func testContent(tb testing.TB) ([]byte, string) {
	tb.Helper()
	var seed [32]byte
	copy(seed[:], "goclip download test content....")
	b := make([]byte, contentSize)
	if _, err := rand.NewChaCha8(seed).Read(b); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

var modTime = time.Date(2021, 1, 5, 12, 0, 0, 0, time.UTC)

// request records what the test server saw and sent for one request.
type request struct {
	rangeHdr   string
	ifRange    string
	acceptEnc  string
	served     int64
	statusCode int
}

// testServer is an httptest server serving content. By default it answers
// like a real static file server (http.ServeContent: 200, 206, 416,
// If-Range); handle, when set, may take over request number i (0-based)
// and returns false to fall back to the default.
type testServer struct {
	*httptest.Server
	content []byte
	handle  func(i int, w *countingWriter, r *http.Request) bool
	quit    chan struct{} // closed at cleanup, unblocks stalled handlers

	mu   sync.Mutex
	reqs []*request
}

func newTestServer(t *testing.T, content []byte, handle func(i int, w *countingWriter, r *http.Request) bool) *testServer {
	t.Helper()
	s := &testServer{content: content, handle: handle, quit: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.quit) }) // runs before s.Close
	return s
}

func (s *testServer) serve(w http.ResponseWriter, r *http.Request) {
	rec := &request{rangeHdr: r.Header.Get("Range"), ifRange: r.Header.Get("If-Range"), acceptEnc: r.Header.Get("Accept-Encoding")}
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	cw := &countingWriter{ResponseWriter: w, rec: rec, srv: s, limit: -1}
	if s.handle != nil && s.handle(i, cw, r) {
		return
	}
	http.ServeContent(cw, r, "model.bin", modTime, bytes.NewReader(s.content))
}

// requests returns a snapshot of the recorded requests.
func (s *testServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// served is the total number of body bytes sent.
func (s *testServer) served() int64 {
	var n int64
	for _, r := range s.requests() {
		n += r.served
	}
	return n
}

// countingWriter counts body bytes; with limit >= 0 it sends only that many
// and then drops the connection, like a network failure mid-body.
type countingWriter struct {
	http.ResponseWriter
	rec   *request
	srv   *testServer
	limit int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.srv.mu.Lock()
	c.rec.statusCode = code
	c.srv.mu.Unlock()
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.srv.mu.Lock()
	already := c.rec.served
	c.srv.mu.Unlock()
	drop := false
	if c.limit >= 0 && already+int64(len(p)) > c.limit {
		p = p[:c.limit-already]
		drop = true
	}
	n, err := c.ResponseWriter.Write(p)
	c.srv.mu.Lock()
	c.rec.served += int64(n)
	c.srv.mu.Unlock()
	if drop {
		c.Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	return n, err
}

func (c *countingWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

// pauseAfter returns a handler that serves the file normally but stops
// after n body bytes until the client goes away, the test ends, or
// (when resume is not nil) resume is closed.
func pauseAfter(n int64, resume <-chan struct{}, reached chan<- struct{}) func(*countingWriter, *http.Request, *testServer) {
	return func(w *countingWriter, r *http.Request, s *testServer) {
		w.Header().Set("Content-Length", fmt.Sprint(len(s.content)))
		w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		w.Write(s.content[:n])
		w.Flush()
		if reached != nil {
			close(reached)
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-resume:
		}
		w.Write(s.content[n:])
	}
}

func fastOpts(url, sum, dest string) Options {
	return Options{URL: url, SHA256: sum, Dest: dest, RetryDelay: time.Millisecond}
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d served bytes", path, len(got), len(want))
	}
}

func assertGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should not exist (Lstat error %v)", p, err)
		}
	}
}

func assertRanges(t *testing.T, s *testServer, want ...string) {
	t.Helper()
	reqs := s.requests()
	var got []string
	for _, r := range reqs {
		got = append(got, r.rangeHdr)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
		t.Fatalf("Range headers of the requests = %q, want %q", got, want)
	}
}

func TestFetchFresh(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "a", "b", "model.bin")
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertGone(t, dest+".part", dest+".lock")
	assertRanges(t, s, "")
	if r := s.requests()[0]; r.acceptEnc != "identity" {
		t.Errorf("Accept-Encoding = %q, want identity", r.acceptEnc)
	}
	if got := s.served(); got != contentSize {
		t.Errorf("served %d bytes, want %d", got, contentSize)
	}
}

func TestFetchCachedMakesNoRequest(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(dest, content, 0o644); err != nil {
		t.Fatal(err)
	}
	// Upper-case digests are accepted too.
	if err := Fetch(context.Background(), fastOpts(s.URL, strings.ToUpper(sum), dest)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("%d requests for a cached file, want 0", n)
	}
	assertFile(t, dest, content)
	assertGone(t, dest+".part", dest+".lock")
}

func TestFetchReplacesCorruptCache(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	bad := bytes.Clone(content)
	bad[12345] ^= 1
	if err := os.WriteFile(dest, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, "")
}

func TestFetchResumesPart(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	const have = 3 * mib / 2
	if err := os.WriteFile(dest+".part", content[:have], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, fmt.Sprintf("bytes=%d-", have))
	if got := s.served(); got != contentSize-have {
		t.Errorf("served %d bytes, want only the remaining %d", got, contentSize-have)
	}
	if r := s.requests()[0]; r.statusCode != http.StatusPartialContent {
		t.Errorf("status %d, want 206", r.statusCode)
	}
	assertGone(t, dest+".part", dest+".lock")
}

func TestFetchServerIgnoresRange(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content)
		return true
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	// A part that is not even a prefix of the file: it must be discarded.
	if err := os.WriteFile(dest+".part", bytes.Repeat([]byte{0xAA}, mib), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, fmt.Sprintf("bytes=%d-", mib))
}

func TestFetchRetriesAfterDroppedConnection(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		if i < 2 {
			w.limit = mib // each of the first two responses dies after 1 MiB
		}
		return false
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	opt := fastOpts(s.URL, sum, dest)
	opt.Retries = 1 // enough: attempts that advance do not use up retries
	if err := Fetch(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, "", fmt.Sprintf("bytes=%d-", mib), fmt.Sprintf("bytes=%d-", 2*mib))
	if got := s.served(); got != contentSize {
		t.Errorf("served %d bytes in all, want %d (only the remainder on resume)", got, contentSize)
	}
	lastMod := modTime.Format(http.TimeFormat)
	for i, r := range s.requests()[1:] {
		if r.ifRange != lastMod {
			t.Errorf("resume request %d: If-Range = %q, want %q", i+1, r.ifRange, lastMod)
		}
	}
	assertGone(t, dest+".part", dest+".lock")
}

func TestFetchGivesUpWithoutProgress(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		w.limit = 0 // headers, then the connection drops
		return false
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	opt := fastOpts(s.URL, sum, dest)
	opt.Retries = 2
	err := Fetch(context.Background(), opt)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want one wrapping io.ErrUnexpectedEOF", err)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
	}
	// No bytes arrived: no empty .part is left behind.
	assertGone(t, dest, dest+".lock", dest+".part")
}

func TestFetchHTTPStatus(t *testing.T) {
	content, sum := testContent(t)
	tests := []struct {
		name     string
		fail     []int // status of the first requests
		retries  int
		wantErr  int // expected HTTPError status, 0 for success
		wantReqs int
	}{
		{"503 twice then ok", []int{503, 503}, 3, 0, 3},
		{"429 then ok", []int{429}, 3, 0, 2},
		{"always 500", []int{500, 500, 500, 500, 500}, 2, 500, 3},
		{"retrying disabled", []int{502, 502}, -1, 502, 1},
		{"404 not retried", []int{404, 404}, 3, 404, 1},
		{"403 not retried", []int{403, 403}, 3, 403, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
				if i < len(tc.fail) {
					http.Error(w, "nope", tc.fail[i])
					return true
				}
				return false
			})
			dest := filepath.Join(t.TempDir(), "model.bin")
			opt := fastOpts(s.URL, sum, dest)
			opt.Retries = tc.retries
			err := Fetch(context.Background(), opt)
			if n := len(s.requests()); n != tc.wantReqs {
				t.Errorf("%d requests, want %d", n, tc.wantReqs)
			}
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatal(err)
				}
				assertFile(t, dest, content)
				return
			}
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("error %v (%T), want *HTTPError", err, err)
			}
			if he.Status != tc.wantErr || he.URL != s.URL {
				t.Errorf("HTTPError %+v, want Status %d URL %s", he, tc.wantErr, s.URL)
			}
			assertGone(t, dest, dest+".lock", dest+".part")
		})
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	wrong := strings.Repeat("ab", 32)
	err := Fetch(context.Background(), fastOpts(s.URL, wrong, dest))
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want *ChecksumError", err, err)
	}
	if ce.Want != wrong || ce.Got != sum || ce.URL != s.URL || ce.Path != dest {
		t.Errorf("ChecksumError %+v, want Want=%s Got=%s", ce, wrong, sum)
	}
	assertGone(t, dest, dest+".part", dest+".lock")
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1 (a fresh download is not repeated)", n)
	}
}

func TestFetchStalePartRestartsOnce(t *testing.T) {
	content, sum := testContent(t)
	garbage := bytes.Repeat([]byte{0x55}, mib)
	t.Run("then succeeds", func(t *testing.T) {
		s := newTestServer(t, content, nil)
		dest := filepath.Join(t.TempDir(), "model.bin")
		if err := os.WriteFile(dest+".part", garbage, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
			t.Fatal(err)
		}
		assertFile(t, dest, content)
		assertRanges(t, s, fmt.Sprintf("bytes=%d-", mib), "")
		if got := s.served(); got != 2*contentSize-mib {
			t.Errorf("served %d bytes, want %d", got, 2*contentSize-mib)
		}
	})
	t.Run("then reports the mismatch", func(t *testing.T) {
		s := newTestServer(t, content, nil)
		dest := filepath.Join(t.TempDir(), "model.bin")
		if err := os.WriteFile(dest+".part", garbage, 0o644); err != nil {
			t.Fatal(err)
		}
		wrong := strings.Repeat("0", 64)
		var ce *ChecksumError
		if err := Fetch(context.Background(), fastOpts(s.URL, wrong, dest)); !errors.As(err, &ce) || ce.Got != sum {
			t.Fatalf("error %v, want *ChecksumError with Got %s", err, sum)
		}
		assertRanges(t, s, fmt.Sprintf("bytes=%d-", mib), "")
		assertGone(t, dest, dest+".part")
	})
}

func TestFetchCompletePartGets416(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(dest+".part", content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, fmt.Sprintf("bytes=%d-", contentSize))
	// ServeContent sends a short error text with the 416; no file bytes.
	if r := s.requests()[0]; r.statusCode != http.StatusRequestedRangeNotSatisfiable || r.served > 100 {
		t.Errorf("request got status %d with %d bytes, want 416 with an error text only", r.statusCode, r.served)
	}
	assertGone(t, dest+".part")
}

func TestFetchCancelLeavesResumablePart(t *testing.T) {
	content, sum := testContent(t)
	stall := pauseAfter(mib, nil, nil)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		if i == 0 {
			stall(w, r, w.srv)
			return true
		}
		return false
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Fetch(ctx, fastOpts(s.URL, sum, dest)) }()

	// Cancel once the first bytes have reached the part file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(dest + ".part"); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no data reached the .part file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancelled := time.Now()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if d := time.Since(cancelled); d > 2*time.Second {
			t.Errorf("Fetch took %v to return after cancellation", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch did not return after cancellation")
	}
	fi, err := os.Stat(dest + ".part")
	if err != nil {
		t.Fatalf("the .part file should be kept: %v", err)
	}
	have := fi.Size()
	if have <= 0 || have > mib {
		t.Fatalf(".part holds %d bytes, want 1..%d", have, mib)
	}
	assertGone(t, dest, dest+".lock")

	// A later call resumes where the cancelled one stopped.
	if err := Fetch(context.Background(), fastOpts(s.URL, sum, dest)); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	assertRanges(t, s, "", fmt.Sprintf("bytes=%d-", have))
	if r := s.requests()[1]; r.served != contentSize-have {
		t.Errorf("resume served %d bytes, want %d", r.served, contentSize-have)
	}
}

func TestFetchStallTimeoutResumes(t *testing.T) {
	content, sum := testContent(t)
	stall := pauseAfter(mib, nil, nil)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		if i == 0 {
			stall(w, r, w.srv)
			return true
		}
		return false
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	opt := fastOpts(s.URL, sum, dest)
	opt.StallTimeout = 300 * time.Millisecond
	opt.Retries = 1
	if err := Fetch(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, content)
	reqs := s.requests()
	assertRanges(t, s, "", fmt.Sprintf("bytes=%d-", reqs[0].served))
}

// TestFetchConcurrentGoroutines starts several Fetch calls for one Dest
// while the first response is paused half way: exactly one download must
// happen and the result must be intact.
func TestFetchConcurrentGoroutines(t *testing.T) {
	content, sum := testContent(t)
	resume := make(chan struct{})
	paused := pauseAfter(contentSize/2, resume, nil)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		if i == 0 {
			paused(w, r, w.srv)
			return true
		}
		return false
	})
	time.AfterFunc(200*time.Millisecond, func() { close(resume) })
	dest := filepath.Join(t.TempDir(), "model.bin")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = Fetch(context.Background(), fastOpts(s.URL, sum, dest)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Fetch %d: %v", i, err)
		}
	}
	assertFile(t, dest, content)
	if got := len(s.requests()); got != 1 {
		t.Errorf("%d requests, want exactly 1", got)
	}
	assertGone(t, dest+".part", dest+".lock")
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFetchWaitsForLockHolder holds the lock itself, checks that Fetch
// waits without touching the network, then publishes the file and
// releases the lock: Fetch must find the file and make no request.
func TestFetchWaitsForLockHolder(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	release, err := acquireLock(context.Background(), dest+".lock", nil)
	if err != nil {
		t.Fatal(err)
	}
	var progress syncBuffer
	opt := fastOpts(s.URL, sum, dest)
	opt.Progress = &progress
	errc := make(chan error, 1)
	go func() { errc <- Fetch(context.Background(), opt) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(progress.String(), "waiting for another download") {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("Fetch did not report waiting; progress %q", progress.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests while the lock was held, want 0", n)
	}
	if err := os.WriteFile(dest, content, 0o644); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
	if want := "model.bin: waiting for another download of the same file\n"; progress.String() != want {
		t.Errorf("progress output %q, want %q", progress.String(), want)
	}
}

func TestFetchCancelWhileWaitingForLock(t *testing.T) {
	_, sum := testContent(t)
	dest := filepath.Join(t.TempDir(), "model.bin")
	release, err := acquireLock(context.Background(), dest+".lock", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = Fetch(ctx, fastOpts("http://127.0.0.1:1/never", sum, dest))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
}

// helperEnv names the environment variables through which
// TestFetchConcurrentProcesses runs Fetch in child processes.
const helperEnv = "GOCLIP_DOWNLOAD_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		err := Fetch(context.Background(), fastOpts(os.Getenv("HELPER_URL"), os.Getenv("HELPER_SHA"), os.Getenv("HELPER_DEST")))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFetchConcurrentProcesses runs Fetch for one Dest in two processes
// while the first response is paused half way.
func TestFetchConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	content, sum := testContent(t)
	resume := make(chan struct{})
	reached := make(chan struct{})
	paused := pauseAfter(contentSize/2, resume, reached)
	s := newTestServer(t, content, func(i int, w *countingWriter, r *http.Request) bool {
		if i == 0 {
			paused(w, r, w.srv)
			return true
		}
		return false
	})
	dest := filepath.Join(t.TempDir(), "model.bin")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_URL="+s.URL, "HELPER_SHA="+sum, "HELPER_DEST="+dest)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	c1, e1 := start()
	select {
	case <-reached: // the first child holds the lock and is half way
	case <-time.After(20 * time.Second):
		t.Fatal("first child never reached the server")
	}
	c2, e2 := start()
	time.Sleep(300 * time.Millisecond) // let the second child queue on the lock
	close(resume)
	if err := c1.Wait(); err != nil {
		t.Errorf("first child: %v: %s", err, e1)
	}
	if err := c2.Wait(); err != nil {
		t.Errorf("second child: %v: %s", err, e2)
	}
	assertFile(t, dest, content)
	if got := len(s.requests()); got != 1 {
		t.Errorf("%d requests, want exactly 1", got)
	}
	assertGone(t, dest+".part", dest+".lock")
}

func TestFetchBadOptions(t *testing.T) {
	_, sum := testContent(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	tests := []struct {
		name    string
		ctx     context.Context
		opt     Options
		wantErr string
	}{
		{"no URL", context.Background(), Options{SHA256: sum, Dest: dest}, "URL is empty"},
		{"bad scheme", context.Background(), Options{URL: "ftp://x/y", SHA256: sum, Dest: dest}, "scheme"},
		{"unparsable URL", context.Background(), Options{URL: "http://[::1", SHA256: sum, Dest: dest}, "bad URL"},
		{"no digest", context.Background(), Options{URL: srv.URL, Dest: dest}, "64 hex digits"},
		{"short digest", context.Background(), Options{URL: srv.URL, SHA256: sum[:63], Dest: dest}, "64 hex digits"},
		{"non-hex digest", context.Background(), Options{URL: srv.URL, SHA256: "zz" + sum[2:], Dest: dest}, "not hexadecimal"},
		{"no Dest", context.Background(), Options{URL: srv.URL, SHA256: sum}, "Dest is empty"},
		{"Dest is a directory", context.Background(), Options{URL: srv.URL, SHA256: sum, Dest: dir}, "not a regular file"},
		{"nil context", nil, Options{URL: srv.URL, SHA256: sum, Dest: dest}, "nil context"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Fetch(tc.ctx, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests made for invalid options", n)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 100-199/150", 0, 0, false},
		{"bytes 9-5/20", 0, 0, false},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		start, total, ok := parseContentRange(tc.in)
		if start != tc.start || total != tc.total || ok != tc.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tc.in, start, total, ok, tc.start, tc.total, tc.ok)
		}
	}
}

func TestParseUnsatisfiedRange(t *testing.T) {
	tests := []struct {
		in    string
		total int64
		ok    bool
	}{
		{"bytes */4096", 4096, true}, {"bytes */0", 0, true},
		{"bytes 0-1/2", 0, false}, {"bytes */x", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		total, ok := parseUnsatisfiedRange(tc.in)
		if total != tc.total || ok != tc.ok {
			t.Errorf("parseUnsatisfiedRange(%q) = %d, %v; want %d, %v", tc.in, total, ok, tc.total, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base     time.Duration
		failures int
		lo       time.Duration // no jitter
	}{
		{time.Second, 1, time.Second},
		{time.Second, 2, 2 * time.Second},
		{time.Second, 4, 8 * time.Second},
		{time.Second, 6, 30 * time.Second}, // capped
		{time.Second, 60, 30 * time.Second},
		{time.Millisecond, 3, 4 * time.Millisecond},
	}
	for _, tc := range tests {
		for range 20 {
			d := backoff(tc.base, tc.failures)
			if d < tc.lo || d >= tc.lo+tc.lo/4 {
				t.Fatalf("backoff(%v, %d) = %v, want in [%v, %v)", tc.base, tc.failures, d, tc.lo, tc.lo+tc.lo/4)
			}
		}
	}
}
