package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"

	"github.com/goclip/goclip/internal/batch"
)

// apiError is an error answered as {"error": {...}} with a status.
type apiError struct {
	status  int
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    any    `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

// badRequest is a 400 about param.
func badRequest(param, code, format string, args ...any) *apiError {
	var p any
	if param != "" {
		p = param
	}
	return &apiError{status: http.StatusBadRequest, Type: "invalid_request_error", Param: p, Code: code, Message: fmt.Sprintf(format, args...)}
}

// toAPIError maps any error to its status and body.
func toAPIError(err error) *apiError {
	var ae *apiError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mb):
		return &apiError{status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
			Message: fmt.Sprintf("the request body exceeds %d bytes", mb.Limit)}
	case errors.Is(err, batch.ErrQueueFull):
		return &apiError{status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "queue_full", Message: "the server is busy: " + err.Error()}
	case errors.Is(err, batch.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, Type: "unavailable", Code: "shutting_down", Message: "the server is shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, Type: "timeout", Code: "request_timeout", Message: "the request timed out before it could be served"}
	case errors.Is(err, context.Canceled):
		return &apiError{status: 499, Type: "cancelled", Code: "client_closed_request", Message: "the client closed the request"}
	}
	return &apiError{status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.status == 499 {
		w.WriteHeader(499)
		return
	}
	if ae.status == http.StatusTooManyRequests || ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"encoding the response failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
