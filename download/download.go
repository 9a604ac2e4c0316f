// Package download fetches large files over HTTP(S) with SHA-256
// verification.
//
// [Fetch] is built for multi-hundred-megabyte model checkpoints on imperfect
// networks: a verified file already at the destination is reused without any
// network traffic, a corrupt one is replaced, data are streamed into a
// ".part" file next to the destination that survives interruptions and is
// resumed with an HTTP Range request, transient failures are retried with
// exponential backoff, and the finished file is checked against its SHA-256
// digest before it is atomically renamed into place. Concurrent calls for
// the same destination, from goroutines or from separate processes, are
// serialised by a lock file so that exactly one of them downloads.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults used when the corresponding Options field is zero.
const (
	// DefaultRetries is the number of retries used when Options.Retries is 0.
	DefaultRetries = 3
	// DefaultRetryDelay is the first backoff delay used when
	// Options.RetryDelay is 0; it doubles after each consecutive failure.
	DefaultRetryDelay = time.Second
	// DefaultStallTimeout is the idle time after which a transfer that
	// receives no data is abandoned (and retried) when Options.StallTimeout
	// is 0.
	DefaultStallTimeout = time.Minute
)

// maxRetryDelay caps the exponential backoff.
const maxRetryDelay = 30 * time.Second

// copyBufSize is the size of the buffer used to stream response bodies.
const copyBufSize = 256 << 10

// Options describes one download.
type Options struct {
	// URL is the http or https address of the file.
	URL string
	// SHA256 is the expected SHA-256 digest of the file as 64 hexadecimal
	// digits (either case). It is required.
	SHA256 string
	// Dest is the final path of the file. Its directory is created when
	// missing. Fetch also uses Dest+".part" (the partial download) and
	// Dest+".lock" (the lock serialising concurrent downloads).
	Dest string
	// Progress, when not nil, receives human-readable progress: a
	// single redrawn line when it is a terminal, occasional plain lines
	// otherwise (see ProgressWriter). Write errors are ignored.
	Progress io.Writer
	// Client is the HTTP client to use; nil means http.DefaultClient. A
	// client Timeout would bound the whole transfer, so prefer
	// StallTimeout for large files.
	Client *http.Client
	// Retries is how many times a transient failure (a network error, a
	// body cut short, a stalled transfer, HTTP 408, 429 or 5xx) is retried.
	// The count is of consecutive failures that made no progress: an
	// attempt that received data before failing resets it, so a long
	// download on a flaky link keeps resuming as long as it advances.
	// Zero means DefaultRetries; a negative value disables retrying.
	Retries int
	// RetryDelay is the first backoff delay; it doubles after every
	// consecutive failure (with up to 25% random jitter), capped at 30s.
	// Zero means DefaultRetryDelay.
	RetryDelay time.Duration
	// StallTimeout abandons an attempt (a transient failure, so it is
	// retried) when no response or no body data arrives for this long.
	// Zero means DefaultStallTimeout; a negative value disables it.
	StallTimeout time.Duration
}

// HTTPError reports a response with an unexpected HTTP status.
type HTTPError struct {
	// URL is the requested address.
	URL string
	// Status is the HTTP status code, such as 404.
	Status int
}

// Error implements the error interface.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("download: GET %s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// ChecksumError reports data whose SHA-256 digest differs from the expected
// one. Fetch returns it after deleting the bad partial file; VerifyFile
// returns it for a file on disk.
type ChecksumError struct {
	// URL is the address the data came from (empty for VerifyFile).
	URL string
	// Path is the file that was checked (Fetch: the destination path).
	Path string
	// Want is the expected digest, as lower-case hexadecimal.
	Want string
	// Got is the digest of the data actually received, as lower-case
	// hexadecimal.
	Got string
}

// Error implements the error interface.
func (e *ChecksumError) Error() string {
	src := e.URL
	if src == "" {
		src = e.Path
	}
	return fmt.Sprintf("download: sha256 mismatch for %s: want %s, got %s", src, e.Want, e.Got)
}

// errStalled is the cause of an attempt abandoned by the stall timer.
var errStalled = errors.New("download: transfer stalled")

// transientError marks an attempt failure that may succeed when retried.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err} }

// Fetch makes opt.Dest hold the file at opt.URL whose SHA-256 digest is
// opt.SHA256.
//
// If Dest already exists with the right digest Fetch returns nil without
// touching the network; if it exists with another digest it is deleted and
// downloaded again. Data are streamed into Dest+".part" (hashed on the fly;
// the bytes of an existing partial file are hashed first and the rest is
// requested with "Range: bytes=N-"), synced to disk, verified and renamed
// onto Dest. A server that ignores the range (200) or rejects it (416)
// causes a clean restart from byte zero, and a resumed file that fails the
// digest check is downloaded once more from scratch before giving up.
//
// Errors: *ChecksumError when the downloaded data do not match (the partial
// file is deleted), *HTTPError for an unexpected status, ctx.Err() when the
// context ends (the partial file is kept so that a later call resumes), or
// an error describing the network or file-system failure.
func Fetch(ctx context.Context, opt Options) error {
	if ctx == nil {
		return errors.New("download: nil context")
	}
	want, err := opt.validate()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Fast path, without the lock: readers never see a partial Dest
	// because Dest only ever appears through an atomic rename.
	st, err := checkDest(ctx, opt.Dest, want, nil)
	if err != nil {
		return err
	}
	if st.ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(opt.Dest), 0o755); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	name := filepath.Base(opt.Dest)
	onWait := func() {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "%s: waiting for another download of the same file\n", name)
		}
	}
	release, err := acquireLock(ctx, opt.Dest+".lock", onWait)
	if err != nil {
		return err
	}
	defer release()

	// Another holder of the lock may have finished (or replaced) Dest
	// while we waited; reuse the first check when the file is unchanged.
	st, err = checkDest(ctx, opt.Dest, want, &st)
	if err != nil {
		return err
	}
	if st.ok {
		return nil
	}
	if st.info != nil {
		if err := os.Remove(opt.Dest); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("download: removing corrupt %s: %w", opt.Dest, err)
		}
	}
	f := &fetcher{opt: opt, want: want, part: opt.Dest + ".part", name: name}
	return f.run(ctx)
}

// validate checks the options, fills in defaults and returns the expected
// digest in lower case.
func (o *Options) validate() (string, error) {
	if o.URL == "" {
		return "", errors.New("download: Options.URL is empty")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return "", fmt.Errorf("download: bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("download: URL %q: scheme must be http or https", o.URL)
	}
	want, err := normalizeHex(o.SHA256)
	if err != nil {
		return "", err
	}
	if o.Dest == "" {
		return "", errors.New("download: Options.Dest is empty")
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	return want, nil
}

// normalizeHex validates a SHA-256 hex digest and lower-cases it.
func normalizeHex(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 2*sha256.Size {
		return "", fmt.Errorf("download: SHA-256 digest %q: want %d hex digits", s, 2*sha256.Size)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("download: SHA-256 digest %q is not hexadecimal", s)
	}
	return s, nil
}

// destState is the result of checking the destination file.
type destState struct {
	info os.FileInfo // nil when Dest does not exist
	ok   bool        // exists and has the expected digest
}

// checkDest hashes path when it exists. When prev describes the same,
// unmodified file, its verdict is reused instead of hashing again.
func checkDest(ctx context.Context, path, want string, prev *destState) (destState, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return destState{}, nil
	}
	if err != nil {
		return destState{}, fmt.Errorf("download: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return destState{}, fmt.Errorf("download: %s exists and is not a regular file", path)
	}
	if prev != nil && prev.info != nil && os.SameFile(prev.info, fi) &&
		prev.info.Size() == fi.Size() && prev.info.ModTime().Equal(fi.ModTime()) {
		return destState{info: fi, ok: prev.ok}, nil
	}
	got, err := sha256File(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return destState{}, ctx.Err()
		}
		return destState{}, err
	}
	return destState{info: fi, ok: got == want}, nil
}

// fetcher holds the state of one download across its attempts. The
// invariant between attempts is that the .part file holds exactly n bytes
// and h is the SHA-256 state after those n bytes.
type fetcher struct {
	opt  Options
	want string
	part string
	name string

	f         *os.File
	h         hash.Hash
	n         int64
	total     int64  // expected full size, -1 when unknown
	validator string // ETag or Last-Modified of the first full response, for If-Range
	resumed   bool   // the part holds bytes not from the latest full (200) response
	restarted bool   // already restarted once after a digest mismatch
	buf       []byte
	prog      *ProgressWriter
}

func (f *fetcher) run(ctx context.Context) (err error) {
	f.total = -1
	f.h = sha256.New()
	f.f, err = os.OpenFile(f.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer func() {
		if f.f != nil {
			f.f.Close()
			// A failure before any byte arrived leaves no empty .part
			// (we hold the lock, so nobody else is writing it).
			if err != nil && f.n == 0 {
				os.Remove(f.part)
			}
		}
	}()
	// Hash what an earlier, interrupted download left behind; the file
	// offset ends up at its end, where writing continues.
	n, err := io.CopyBuffer(f.h, ctxReader{ctx, f.f}, make([]byte, copyBufSize))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("download: reading %s: %w", f.part, err)
	}
	f.n = n
	f.resumed = n > 0
	f.buf = make([]byte, copyBufSize)

	failures := 0
	for {
		received, err := f.attempt(ctx)
		if err == nil {
			var again bool
			again, err = f.finish()
			if err == nil {
				return nil
			}
			if again {
				// One immediate fresh start, not counted as a failure.
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var te *transientError
		if !errors.As(err, &te) {
			return err
		}
		if received > 0 {
			failures = 0
		}
		failures++
		if failures > f.opt.Retries {
			return te.err
		}
		if err := sleepCtx(ctx, backoff(f.opt.RetryDelay, failures)); err != nil {
			return err
		}
	}
}

// finish verifies a complete part file and renames it onto Dest. When a
// resumed file fails the digest check for the first time, the part is
// emptied and again is true: the caller should download from byte zero.
func (f *fetcher) finish() (again bool, err error) {
	if err := f.f.Sync(); err != nil {
		return false, fmt.Errorf("download: sync %s: %w", f.part, err)
	}
	got := hex.EncodeToString(f.h.Sum(nil))
	if got != f.want {
		if f.resumed && !f.restarted {
			// The old part may have come from another version of the
			// file or been damaged by a crash: try once from scratch.
			f.restarted = true
			if err := f.restart(); err != nil {
				return false, err
			}
			return true, fmt.Errorf("download: resumed data of %s failed the sha256 check", f.opt.URL)
		}
		f.f.Close()
		f.f = nil
		os.Remove(f.part)
		return false, &ChecksumError{URL: f.opt.URL, Path: f.opt.Dest, Want: f.want, Got: got}
	}
	if err := f.f.Close(); err != nil {
		f.f = nil
		return false, fmt.Errorf("download: close %s: %w", f.part, err)
	}
	f.f = nil
	if err := os.Rename(f.part, f.opt.Dest); err != nil {
		return false, fmt.Errorf("download: %w", err)
	}
	syncDir(filepath.Dir(f.opt.Dest))
	if f.prog != nil {
		f.prog.Finish()
	}
	return false, nil
}

// restart empties the part file.
func (f *fetcher) restart() error {
	if err := f.f.Truncate(0); err != nil {
		return fmt.Errorf("download: truncate %s: %w", f.part, err)
	}
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download: seek %s: %w", f.part, err)
	}
	f.h.Reset()
	f.n = 0
	f.resumed = false
	if f.prog != nil {
		f.prog.SetDone(0)
	}
	return nil
}

// attempt performs one HTTP request and appends its body to the part file.
// It returns nil once the part file is complete, and the number of body
// bytes it stored.
func (f *fetcher) attempt(ctx context.Context) (received int64, err error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, f.opt.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("download: %w", err)
	}
	// Ask for the bytes as stored: with transparent gzip the Range offsets
	// would not refer to the file.
	req.Header.Set("Accept-Encoding", "identity")
	if f.n > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(f.n, 10)+"-")
		if f.validator != "" {
			req.Header.Set("If-Range", f.validator)
		}
	}
	var stalled atomic.Bool
	stall := f.opt.StallTimeout
	if stall <= 0 {
		stall = time.Duration(1<<63 - 1)
	}
	timer := time.AfterFunc(stall, func() { stalled.Store(true); cancel() })
	defer timer.Stop()

	resp, err := f.opt.Client.Do(req)
	if err != nil {
		if stalled.Load() {
			return 0, transient(fmt.Errorf("download: GET %s: no response within %v: %w", f.opt.URL, stall, errStalled))
		}
		return 0, transient(fmt.Errorf("download: %w", err))
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
		if f.n > 0 {
			if err := f.restart(); err != nil {
				return 0, err
			}
		}
		f.total = resp.ContentLength
		f.validator = validatorOf(resp)
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != f.n {
			if err := f.restart(); err != nil {
				return 0, err
			}
			return 0, transient(fmt.Errorf("download: GET %s: unusable Content-Range %q for offset %d; restarting",
				f.opt.URL, resp.Header.Get("Content-Range"), f.n))
		}
		f.total = total
		f.resumed = f.resumed || f.n > 0
		if f.validator == "" {
			f.validator = validatorOf(resp)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if f.n == 0 {
			return 0, &HTTPError{URL: f.opt.URL, Status: resp.StatusCode}
		}
		if total, ok := parseUnsatisfiedRange(resp.Header.Get("Content-Range")); ok && total == f.n {
			// The part is already complete (say, an earlier run stopped
			// before the rename): verify it.
			f.total = total
			return 0, nil
		}
		if err := f.restart(); err != nil {
			return 0, err
		}
		return 0, transient(fmt.Errorf("download: GET %s: range not satisfiable; restarting", f.opt.URL))
	default:
		e := &HTTPError{URL: f.opt.URL, Status: resp.StatusCode}
		switch {
		case resp.StatusCode == http.StatusRequestTimeout,
			resp.StatusCode == http.StatusTooManyRequests,
			resp.StatusCode >= 500:
			return 0, transient(e)
		}
		return 0, e
	}

	if f.opt.Progress != nil {
		if f.prog == nil {
			f.prog = NewProgressWriter(f.opt.Progress, f.name, f.total)
		}
		f.prog.SetTotal(f.total)
		f.prog.SetDone(f.n)
	}
	timer.Reset(stall)
	for {
		k, rerr := resp.Body.Read(f.buf)
		if k > 0 {
			timer.Reset(stall)
			if _, werr := f.f.Write(f.buf[:k]); werr != nil {
				// Keep the invariant: the part holds exactly n bytes.
				f.f.Truncate(f.n)
				f.f.Seek(f.n, io.SeekStart)
				return received, fmt.Errorf("download: writing %s: %w", f.part, werr)
			}
			f.h.Write(f.buf[:k])
			f.n += int64(k)
			received += int64(k)
			if f.prog != nil {
				f.prog.Write(f.buf[:k])
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if stalled.Load() {
				return received, transient(fmt.Errorf("download: GET %s: no data for %v: %w", f.opt.URL, stall, errStalled))
			}
			return received, transient(fmt.Errorf("download: GET %s: %w", f.opt.URL, rerr))
		}
	}
	if f.total >= 0 && f.n != f.total {
		err := transient(fmt.Errorf("download: GET %s: body ended at byte %d of %d: %w", f.opt.URL, f.n, f.total, io.ErrUnexpectedEOF))
		if f.n > f.total {
			if rerr := f.restart(); rerr != nil {
				return received, rerr
			}
		}
		return received, err
	}
	return received, nil
}

// validatorOf returns a strong validator of the response usable in
// If-Range: a strong ETag, else Last-Modified, else "".
func validatorOf(resp *http.Response) string {
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		return et
	}
	return resp.Header.Get("Last-Modified")
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*", which
// gives total -1) and returns START and TOTAL.
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	tot = strings.TrimSpace(tot)
	if tot == "*" {
		return start, -1, true
	}
	total, err := strconv.ParseInt(tot, 10, 64)
	if err != nil || total <= end {
		return 0, 0, false
	}
	return start, total, true
}

// parseUnsatisfiedRange parses the "bytes */TOTAL" of a 416 response.
func parseUnsatisfiedRange(s string) (total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes */")
	if !found {
		return 0, false
	}
	total, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
	if err != nil || total < 0 {
		return 0, false
	}
	return total, true
}

// backoff returns the delay before retry number failures (1-based).
func backoff(base time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, maxRetryDelay)
	// Up to 25% jitter so that many clients do not retry in lockstep.
	if q := int64(d / 4); q > 0 {
		d += time.Duration(rand.Int64N(q))
	}
	return d
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// syncDir flushes a directory entry change (the rename) to disk. It is
// best effort: some systems cannot sync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// ctxReader makes long reads (hashing a big file) stop when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
