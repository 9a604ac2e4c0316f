package clip

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var fileTime = time.Date(2021, 1, 5, 0, 0, 0, 0, time.UTC)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// wrongServer serves bytes that do not match the vocabulary's sha256.
func wrongServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("definitely not the vocabulary"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/bpe.gz"
}
