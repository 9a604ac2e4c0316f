//go:build !cgo

package torch

import (
	"errors"
	"testing"
)

// TestStub checks that without cgo every call needing libtorch fails with
// ErrNoCgo and the pure-Go parts work.
func TestStub(t *testing.T) {
	if _, err := Load("any.pt"); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Load: %v", err)
	}
	if err := Init(); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Init: %v", err)
	}
	if _, err := CUDADeviceName(0); !errors.Is(err, ErrNoCgo) {
		t.Errorf("CUDADeviceName: %v", err)
	}
	if Version() != "" || CUDAAvailable() || Loaded() {
		t.Error("stub reports a libtorch")
	}
	if d, err := ParseDevice("auto"); err != nil || d.IsCUDA() {
		t.Errorf("ParseDevice(auto) = %v, %v", d, err)
	}
	if _, err := NewTensor([]float32{1, 2}, 2); err != nil {
		t.Error(err)
	}
}
