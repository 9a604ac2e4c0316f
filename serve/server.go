// Package serve is an HTTP server for CLIP embeddings whose outputs equal
// the official implementation's: OpenAI-shaped /v1/embeddings, zero-shot
// /v1/classify, /v1/rank, /v1/models, health and Prometheus metrics, and a
// small page at /. Requests are batched across callers per model and
// modality; with Options.FixedBatch every model call has the same number of
// rows, so an input's embedding does not depend on the load.
//
// A Server is an http.Handler; "clip serve" is a thin command around it.
package serve

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/preprocess"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	MaxBatchSize    int           // items per model call (default 32)
	MaxQueueDelay   time.Duration // how long a batch may wait to fill (default 0: run when the model is free)
	FixedBatch      bool          // pad every model call to MaxBatchSize rows: load-independent results
	MaxQueue        int           // items waiting per model and modality; beyond it 429 (default 8·MaxBatchSize)
	MaxRequestBytes int64         // request body limit, 413 beyond (default 32 MiB)
	MaxItems        int           // inputs per request (default 256)
	MaxPixels       int64         // pixels per image (default Pillow's bomb limit, 2·preprocess.DefaultMaxPixels)
	RequestTimeout  time.Duration // per request (default 60s)
	Workers         int           // image decoding goroutines (default GOMAXPROCS)
	APIKey          string        // when set, /v1 routes need "Authorization: Bearer KEY"
	AllowURLFetch   bool          // fetch http(s) image URLs (with FetchTimeout and MaxRequestBytes)
	FetchTimeout    time.Duration // default 10s
	// Registry receives the metrics (default: a new registry, served at /metrics).
	Registry *prometheus.Registry
}

func (o *Options) defaults() {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 32
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 8 * o.MaxBatchSize
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 32 << 20
	}
	if o.MaxItems <= 0 {
		o.MaxItems = 256
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 2 * preprocess.DefaultMaxPixels
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 10 * time.Second
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
}

// Server serves CLIP models over HTTP. Create it with New, add models with
// Add, then mark it ready; it answers 503 on the /v1 routes until then.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	met     *metrics
	workers chan struct{}

	mu     sync.RWMutex
	models []*served
	index  *Index

	ready    atomic.Bool
	draining atomic.Bool
	answered atomic.Int64
}

// Answered is how many requests the server has answered on the /v1 routes
// (any status), for logs and checks after a drain.
func (s *Server) Answered() int64 { return s.answered.Load() }

// New returns a Server with no models.
func New(opts Options) *Server {
	opts.defaults()
	workers := opts.Workers
	if workers <= 0 {
		workers = defaultWorkers()
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), workers: make(chan struct{}, workers)}
	s.met = newMetrics(opts.Registry, s.queueDepth)
	s.route("POST /v1/embeddings", true, s.handleEmbeddings)
	s.route("POST /v1/classify", true, s.handleClassify)
	s.route("POST /v1/rank", true, s.handleRank)
	s.route("GET /v1/models", true, s.handleModels)
	s.route("GET /v1/index", true, s.handleIndex)
	s.route("GET /v1/index/{row}/image", true, s.handleIndexImage)
	s.route("GET /health/live", false, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	s.route("GET /health/ready", false, func(w http.ResponseWriter, r *http.Request) error {
		if !s.ready.Load() || s.draining.Load() {
			return &apiError{status: http.StatusServiceUnavailable, Type: "unavailable", Code: "not_ready", Message: "the models are loading or the server is stopping"}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return nil
	})
	s.route("GET /{$}", false, s.handlePage)
	metricsHandler := promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})
	s.route("GET /metrics", false, func(w http.ResponseWriter, r *http.Request) error {
		metricsHandler.ServeHTTP(w, r)
		return nil
	})
	return s
}

// Add loads a model into the server under name (what requests give as
// "model"), warming it with one call per modality.
func (s *Server) Add(ctx context.Context, name string, m *clip.Model) error {
	sv, err := newServed(name, m, &s.opts, s.met)
	if err != nil {
		return err
	}
	if err := sv.warm(ctx); err != nil {
		sv.close(ctx)
		return fmt.Errorf("serve: warming %s: %w", name, err)
	}
	s.mu.Lock()
	s.models = append(s.models, sv)
	s.mu.Unlock()
	return nil
}

// SetIndex gives the server an image index (see LoadIndex) for /v1/rank
// without candidates and for the page's search.
func (s *Server) SetIndex(ix *Index) { s.mu.Lock(); s.index = ix; s.mu.Unlock() }

// SetReady marks the server ready (or not): /health/ready answers 200 and
// the /v1 routes are served.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Drain marks the server as stopping (/health/ready answers 503), then
// waits until the queued items have run or ctx ends; items still queued
// then fail with 503. Call it after http.Server.Shutdown has stopped new
// requests, or concurrently with it.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.RLock()
	models := append([]*served(nil), s.models...)
	s.mu.RUnlock()
	var first error
	for _, m := range models {
		if err := m.close(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) queueDepth() float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, m := range s.models {
		n += m.text.Len() + m.image.Len()
	}
	return float64(n)
}

// model finds the model a request names ("" is the first).
func (s *Server) model(name string) (*served, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.models {
		if name == "" || name == m.name || name == m.info.Name {
			return m, nil
		}
	}
	names := make([]string, len(s.models))
	for i, m := range s.models {
		names[i] = m.name
	}
	return nil, &apiError{status: http.StatusNotFound, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("model %q is not served (models: %s)", name, strings.Join(names, ", "))}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// route registers a handler with metrics, limits, authentication and the
// error shape.
func (s *Server) route(pattern string, api bool, h func(http.ResponseWriter, *http.Request) error) {
	name := pattern[strings.IndexByte(pattern, ' ')+1:]
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		err := s.serve(rec, r, api, h)
		if err != nil {
			writeError(rec, r, err)
		}
		code := rec.status
		if code == 0 {
			code = http.StatusOK
		}
		if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
			code = 499 // the client went away
		}
		if api && code != 499 {
			s.answered.Add(1)
		}
		s.met.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
		s.met.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, api bool, h func(http.ResponseWriter, *http.Request) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &apiError{status: http.StatusInternalServerError, Type: "server_error", Message: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	if api {
		if k := s.opts.APIKey; k != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(k)) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				return &apiError{status: http.StatusUnauthorized, Type: "authentication_error", Code: "invalid_api_key", Message: "missing or wrong API key (Authorization: Bearer KEY)"}
			}
		}
		if !s.ready.Load() {
			w.Header().Set("Retry-After", "1")
			return &apiError{status: http.StatusServiceUnavailable, Type: "unavailable", Code: "not_ready", Message: "the models are still loading"}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes)
	}
	return h(w, r)
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
