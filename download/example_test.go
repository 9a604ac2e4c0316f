package download_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goclip/goclip/download"
)

func ExampleFetch() {
	// A stand-in for the real server of a checkpoint or vocabulary file.
	data := []byte(strings.Repeat("bpe merges\n", 1000))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "vocab.txt", time.Time{}, strings.NewReader(string(data)))
	}))
	defer srv.Close()
	sum := sha256.Sum256(data)

	dir, err := os.MkdirTemp("", "goclip-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	opt := download.Options{
		URL:    srv.URL + "/vocab.txt",
		SHA256: hex.EncodeToString(sum[:]),
		Dest:   filepath.Join(dir, "vocab.txt"),
	}
	if err := download.Fetch(context.Background(), opt); err != nil {
		fmt.Println(err)
		return
	}
	// A second call finds the verified file and makes no request.
	if err := download.Fetch(context.Background(), opt); err != nil {
		fmt.Println(err)
		return
	}
	fi, err := os.Stat(opt.Dest)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fi.Size(), "bytes, verified:", download.VerifyFile(opt.Dest, opt.SHA256) == nil)
	// Output: 11000 bytes, verified: true
}
