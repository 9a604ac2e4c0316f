package serve

import (
	_ "embed"
	"net/http"
)

//go:embed page.html
var pageHTML []byte

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(pageHTML)
	return nil
}
