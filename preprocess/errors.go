package preprocess

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers can test with errors.Is.
var (
	// ErrUnsupportedFormat: the data is not an image format this package
	// (or Pillow) can open, or uses a feature Pillow rejects (for example a
	// 12-bit JPEG or a 2-component JPEG).
	ErrUnsupportedFormat = errors.New("preprocess: unsupported image format")

	// ErrCorrupt: the file is recognised but its data is invalid.
	ErrCorrupt = errors.New("preprocess: corrupt image data")

	// ErrTruncated: the file ends before the image data is complete (Pillow:
	// "image file is truncated"). Errors wrapping ErrTruncated also match
	// ErrCorrupt.
	ErrTruncated = errors.New("preprocess: image file is truncated")

	// ErrZeroSize: the image has zero width or height.
	ErrZeroSize = errors.New("preprocess: image has zero width or height")

	// ErrTooManyPixels: the header announces more pixels than the
	// configured limit allows (Pillow's DecompressionBombError). It is
	// detected before any pixel buffer is allocated.
	ErrTooManyPixels = errors.New("preprocess: image has too many pixels")

	// ErrTooLarge: the resized image would have a side that Pillow cannot
	// represent (larger than a C int) or coefficient tables Pillow refuses
	// to allocate.
	ErrTooLarge = errors.New("preprocess: resized image too large")

	// ErrBadSize: the requested output size or destination buffer is invalid.
	ErrBadSize = errors.New("preprocess: invalid size or buffer")
)

// formatError is an error carrying a message and one or more sentinels.
type formatError struct {
	msg  string
	kind []error
}

func (e *formatError) Error() string { return e.msg }

// Is reports whether target is one of the error's sentinels.
func (e *formatError) Is(target error) bool {
	for _, k := range e.kind {
		if k == target {
			return true
		}
	}
	return false
}

func corruptf(format string, args ...any) error {
	return &formatError{msg: "preprocess: corrupt image: " + fmt.Sprintf(format, args...), kind: []error{ErrCorrupt}}
}

func errTruncated(msg string) error {
	return &formatError{msg: "preprocess: " + msg, kind: []error{ErrTruncated, ErrCorrupt}}
}

func unsupportedf(format string, args ...any) error {
	return &formatError{msg: "preprocess: unsupported image: " + fmt.Sprintf(format, args...), kind: []error{ErrUnsupportedFormat}}
}

func tooManyPixels(w, h int, limit int64) error {
	return &formatError{
		msg:  fmt.Sprintf("preprocess: image size (%d x %d = %d pixels) exceeds the limit of %d pixels, could be a decompression bomb", w, h, int64(w)*int64(h), limit),
		kind: []error{ErrTooManyPixels},
	}
}

func zeroSize(w, h int) error {
	return &formatError{msg: fmt.Sprintf("preprocess: image has zero size (%d x %d)", w, h), kind: []error{ErrZeroSize}}
}

func tooLargef(format string, args ...any) error {
	return &formatError{msg: "preprocess: " + fmt.Sprintf(format, args...), kind: []error{ErrTooLarge}}
}

// fileError adds the path of the file to an error while keeping the
// sentinels reachable.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }
