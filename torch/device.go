package torch

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceType is the kind of a Device.
type DeviceType int

// Device kinds.
const (
	CPU DeviceType = iota
	CUDA
)

// Device names where a module lives: the CPU or one CUDA device.
type Device struct {
	Type  DeviceType
	Index int // CUDA device index; 0 for the CPU
}

// String returns "cpu" or "cuda:N", the form libtorch parses.
func (d Device) String() string {
	if d.Type == CUDA {
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return "cpu"
}

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == CUDA }

// ParseDevice parses "cpu", "cuda", "cuda:N" or "auto" (case-insensitive,
// surrounding spaces ignored). "auto" is CUDA device 0 when CUDA is
// available, else the CPU. It checks the syntax only; whether the device
// exists is checked when a module is loaded onto it.
func ParseDevice(s string) (Device, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "cpu":
		return Device{Type: CPU}, nil
	case t == "cuda" || t == "gpu":
		return Device{Type: CUDA}, nil
	case t == "auto" || t == "":
		if CUDAAvailable() {
			return Device{Type: CUDA}, nil
		}
		return Device{Type: CPU}, nil
	case strings.HasPrefix(t, "cuda:"):
		n, err := strconv.Atoi(t[len("cuda:"):])
		if err != nil || n < 0 || n > 1<<16 {
			break
		}
		return Device{Type: CUDA, Index: n}, nil
	}
	return Device{}, fmt.Errorf("%w %q: want cpu, cuda, cuda:N or auto", ErrInvalidDevice, s)
}

// check reports whether the device can be used in this process.
func (d Device) check() error {
	if d.Type != CUDA {
		return nil
	}
	if !CUDAAvailable() {
		return fmt.Errorf("%w: device %s asked, but libtorch %s has no usable CUDA here", ErrCUDAUnavailable, d, Version())
	}
	if n := CUDADeviceCount(); d.Index >= n {
		return fmt.Errorf("%w: device %s asked, but only %d CUDA device(s) are present", ErrCUDAUnavailable, d, n)
	}
	return nil
}
