package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/goclip/goclip/serve"
)

func serveCmd() *command {
	var flags []flagSpec
	for _, f := range modelFlags {
		if f.name != "batch-size" { // --max-batch-size instead
			flags = append(flags, f)
		}
	}
	flags = append(flags,
		flagSpec{name: "addr", kind: valueArg, usage: "listen address (default 127.0.0.1:8080)"},
		flagSpec{name: "max-batch-size", kind: valueArg, usage: "items per model call, batched across requests (default 32)"},
		flagSpec{name: "max-queue-delay", kind: valueArg, usage: "longest wait for a batch to fill, e.g. 5ms (default 0: run when the model is free)"},
		flagSpec{name: "fixed-batch", kind: boolArg, usage: "pad every model call to --max-batch-size rows: results independent of the load"},
		flagSpec{name: "max-queue", kind: valueArg, usage: "items waiting per model and modality; beyond it 429 (default 8×max-batch-size)"},
		flagSpec{name: "max-request-bytes", kind: valueArg, usage: "request body limit in bytes, 413 beyond (default 33554432)"},
		flagSpec{name: "max-items", kind: valueArg, usage: "inputs per request (default 256)"},
		flagSpec{name: "max-pixels", kind: valueArg, usage: "pixels per image; bigger images get a 400 (default Pillow's limit, 178956970)"},
		flagSpec{name: "request-timeout", kind: valueArg, usage: "per request (default 60s)"},
		flagSpec{name: "drain-timeout", kind: valueArg, usage: "on SIGTERM, how long accepted requests may take to finish (default 30s)"},
		flagSpec{name: "api-key", kind: valueArg, usage: "require Authorization: Bearer KEY on /v1 routes"},
		flagSpec{name: "allow-url-fetch", kind: boolArg, usage: "fetch http(s) image URLs given as inputs"},
		flagSpec{name: "index", kind: valueArg, usage: "an embed --images-dir output (.npy with its .jsonl) to search from the page and /v1/rank"},
	)
	return &command{
		name:    "serve",
		summary: "HTTP server: /v1/embeddings, /v1/classify, /v1/rank, batched across requests, reference-exact",
		usage:   "serve --model M [--model M2 ...] [--addr 127.0.0.1:8080] [--device D] [--max-batch-size N] [--max-queue-delay D] [--fixed-batch] [--index photos.npy]",
		flags:   flags,
		run:     runServe,
	}
}

// serveOptions reads the server's flags.
func serveOptions(a *parsedArgs) (serve.Options, error) {
	var o serve.Options
	ints := []struct {
		name string
		dst  *int
	}{{"max-batch-size", &o.MaxBatchSize}, {"max-queue", &o.MaxQueue}, {"max-items", &o.MaxItems}, {"workers", &o.Workers}}
	for _, f := range ints {
		n, err := a.integer(f.name, 0)
		if err != nil {
			return o, err
		}
		if n < 0 {
			return o, usagef("--%s must not be negative", f.name)
		}
		*f.dst = n
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"max-request-bytes", &o.MaxRequestBytes}, {"max-pixels", &o.MaxPixels}} {
		if v := a.str(f.name, ""); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return o, usagef("--%s wants a positive integer, got %q", f.name, v)
			}
			*f.dst = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"max-queue-delay", &o.MaxQueueDelay}, {"request-timeout", &o.RequestTimeout}} {
		d, err := duration(a, f.name, 0)
		if err != nil {
			return o, err
		}
		*f.dst = d
	}
	o.FixedBatch = a.bools["fixed-batch"]
	o.APIKey = a.str("api-key", "")
	o.AllowURLFetch = a.bools["allow-url-fetch"]
	return o, nil
}

func duration(a *parsedArgs, name string, def time.Duration) (time.Duration, error) {
	v := a.str(name, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, usagef("--%s wants a duration such as 5ms or 30s, got %q", name, v)
	}
	return d, nil
}

func runServe(ctx context.Context, e *env, a *parsedArgs) error {
	names := a.values["model"]
	if len(names) == 0 {
		return usagef("--model is required (repeat it to serve several models)")
	}
	if len(a.positional) > 0 {
		return usagef("unexpected argument %q", a.positional[0])
	}
	opts, err := serveOptions(a)
	if err != nil {
		return err
	}
	drain, err := duration(a, "drain-timeout", 30*time.Second)
	if err != nil {
		return err
	}
	addr := a.str("addr", "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := serve.New(opts)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(e.stderr, "clip serve: listening on http://%s (loading %d model(s))\n", ln.Addr(), len(names))
	for _, name := range names {
		m, err := loadModelNamed(ctx, e, a, name)
		if err != nil {
			hs.Close()
			return err
		}
		defer m.Close()
		if err := s.Add(ctx, name, m); err != nil {
			hs.Close()
			return err
		}
	}
	if p := a.str("index", ""); p != "" {
		ix, err := serve.LoadIndex(p, names[0])
		if err != nil {
			hs.Close()
			return err
		}
		s.SetIndex(ix)
	}
	s.SetReady(true)
	fmt.Fprintf(e.stderr, "clip serve: ready\n")
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// SIGTERM or interrupt: stop accepting, let accepted requests finish.
	fmt.Fprintf(e.stderr, "clip serve: stopping (draining for at most %v)\n", drain)
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := hs.Shutdown(dctx); err != nil {
		// Out of time: what is still queued fails with 503; give the
		// handlers a moment to write it, then close the connections.
		s.Drain(dctx)
		time.Sleep(100 * time.Millisecond)
		hs.Close()
		fmt.Fprintf(e.stderr, "clip serve: drain timed out after %v; the requests still queued were answered 503\n", drain)
		return nil
	}
	s.Drain(dctx)
	fmt.Fprintf(e.stderr, "clip serve: stopped; answered %d API requests\n", s.Answered())
	return nil
}
