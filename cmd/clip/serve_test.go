package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goclip/goclip/internal/testutil"
)

// TestServeSIGTERM runs the built binary, loads it with concurrent
// requests, sends SIGTERM and checks that every accepted request got its
// answer (200) or an error status, none was cut off, and the exit status
// is 0.
func TestServeSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "clip")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	model := filepath.Join(testutil.RepoRoot(t), "models", "tiny-vit")
	cmd := exec.Command(bin, "serve", "--model", model, "--device", "cpu", "--vocab", vocab(t),
		"--addr", "127.0.0.1:0", "--max-batch-size", "4", "--max-queue", "1000", "--drain-timeout", "20s", "--threads", "1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var url string
	var log []string
	for lines.Scan() {
		log = append(log, lines.Text())
		if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
		if strings.Contains(lines.Text(), "ready") {
			break
		}
	}
	if url == "" {
		t.Fatalf("no address in the server's output:\n%s", strings.Join(log, "\n"))
	}
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()
	img, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "images", "blue-square.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"input": []any{"a blue square", map[string]any{"type": "image", "image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(img)}}})
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// A connection per request: a request either reaches the server or is
	// refused or reset before it is accepted (closed listener, backlog).
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(body))
				key := ""
				switch {
				case err != nil && isRefused(err):
					key = "refused" // after the listener closed: never accepted
				case err != nil && errors.Is(err, syscall.ECONNRESET):
					key = "reset" // in the backlog when the listener closed
				case err != nil:
					key = "broken: " + err.Error()
				default:
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					key = fmt.Sprint(resp.StatusCode)
					if rerr != nil || (resp.StatusCode == 200 && !bytes.Contains(b, []byte(`"index":1`))) {
						key = "truncated"
					}
				}
				mu.Lock()
				counts[key]++
				mu.Unlock()
				if key == "refused" {
					return
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	close(stop)
	wg.Wait()
	tail := <-rest
	t.Logf("outcomes: %v\nserver: %s", counts, tail)
	if werr != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", werr)
	}
	if counts["200"] == 0 {
		t.Error("no request was answered before the signal")
	}
	// Every request the server answered reached its client: none was cut.
	var answered int
	if _, err := fmt.Sscanf(tail[strings.Index(tail, "answered"):], "answered %d", &answered); err != nil {
		t.Fatalf("no count in the server's last line: %q", tail)
	}
	if got := counts["200"] + counts["503"]; got != answered {
		t.Errorf("clients got %d answers, the server answered %d", got, answered)
	}
	for k, n := range counts {
		if k != "200" && k != "503" && k != "refused" && k != "reset" {
			t.Errorf("%d requests ended %q", n, k)
		}
	}
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
