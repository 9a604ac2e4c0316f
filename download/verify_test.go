package download

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSHA256FileAndVerifyFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, sum string
	}{
		// Standard SHA-256 test vectors (FIPS 180-2).
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := SHA256File(path)
			if err != nil || got != tc.sum {
				t.Fatalf("SHA256File = %q, %v; want %q", got, err, tc.sum)
			}
			if err := VerifyFile(path, tc.sum); err != nil {
				t.Errorf("VerifyFile(right digest): %v", err)
			}
			if err := VerifyFile(path, strings.ToUpper(tc.sum)); err != nil {
				t.Errorf("VerifyFile(upper-case digest): %v", err)
			}
			wrong := strings.Repeat("0", 64)
			var ce *ChecksumError
			if err := VerifyFile(path, wrong); !errors.As(err, &ce) {
				t.Fatalf("VerifyFile(wrong digest) = %v, want *ChecksumError", err)
			}
			if ce.Path != path || ce.Want != wrong || ce.Got != tc.sum || ce.URL != "" {
				t.Errorf("ChecksumError = %+v", ce)
			}
			if msg := ce.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tc.sum) {
				t.Errorf("ChecksumError message %q lacks the path or digest", msg)
			}
		})
	}
}

func TestVerifyFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := SHA256File(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SHA256File(missing) error %v, want os.ErrNotExist", err)
	}
	if err := VerifyFile(missing, strings.Repeat("a", 64)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VerifyFile(missing) error %v, want os.ErrNotExist", err)
	}
	if err := VerifyFile(missing, "abc"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("VerifyFile(short digest) error %v", err)
	}
}

func TestHTTPErrorMessage(t *testing.T) {
	e := &HTTPError{URL: "https://example.com/m.pt", Status: 404}
	if got, want := e.Error(), "download: GET https://example.com/m.pt: HTTP 404 Not Found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
