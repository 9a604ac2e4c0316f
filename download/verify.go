package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// SHA256File returns the SHA-256 digest of the file at path as 64
// lower-case hexadecimal digits.
func SHA256File(path string) (string, error) {
	return sha256File(context.Background(), path)
}

// VerifyFile checks that the file at path has the SHA-256 digest sha256hex
// (64 hexadecimal digits, either case). It returns nil on a match, a
// *ChecksumError (with Path set) on a mismatch, and another error when the
// digest is malformed or the file cannot be read.
func VerifyFile(path, sha256hex string) error {
	want, err := normalizeHex(sha256hex)
	if err != nil {
		return err
	}
	got, err := SHA256File(path)
	if err != nil {
		return err
	}
	if got != want {
		return &ChecksumError{Path: path, Want: want, Got: got}
	}
	return nil
}

// sha256File hashes a file, stopping early when ctx ends.
func sha256File(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, copyBufSize)); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("download: reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
