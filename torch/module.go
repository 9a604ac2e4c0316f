package torch

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Module is a loaded TorchScript module. It is safe for concurrent use by
// many goroutines. Close it when done.
type Module struct {
	mu      sync.RWMutex
	h       C.gc_module
	path    string
	device  Device
	threads int32
	names   sync.Map     // method name -> *C.char, freed by Close
	nnames  atomic.Int32 // entries in names
}

// maxCachedNames bounds the method-name cache (callers may pass any string).
const maxCachedNames = 64

// cname returns the C string of a method name, made once per module for
// the first names seen; temp reports a string the caller must free.
func (m *Module) cname(method string) (c *C.char, temp bool) {
	if c, ok := m.names.Load(method); ok {
		return c.(*C.char), false
	}
	c = C.CString(method)
	if m.nnames.Load() >= maxCachedNames {
		return c, true
	}
	if prev, loaded := m.names.LoadOrStore(method, c); loaded {
		C.free(unsafe.Pointer(c))
		return prev.(*C.char), false
	}
	m.nnames.Add(1)
	return c, false
}

// errString turns a shim error (NULL for success) into a Go error and frees it.
func errString(op, target string, e *C.char) error {
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.dl_gc_free(unsafe.Pointer(e))
	return &Error{Op: op, Target: target, Msg: msg}
}

// Load reads a TorchScript file (torch.jit.save output) onto a device.
//
// The first Load opens the shim (see Init); its failure is returned as a
// *LibraryError.
func Load(path string, opts ...LoadOption) (*Module, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	cfg := loadConfig{device: Device{Type: CPU}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.threads < 0 {
		return nil, fmt.Errorf("torch: load %s: negative thread count %d", path, cfg.threads)
	}
	if err := cfg.device.check(); err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("torch: load: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("torch: load %s: is a directory, not a TorchScript file", path)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	cdev := C.CString(cfg.device.String())
	defer C.free(unsafe.Pointer(cdev))
	var h C.gc_module
	if err := errString("load", path, C.dl_gc_module_load(cpath, cdev, &h)); err != nil {
		return nil, err
	}
	if cfg.optimize {
		if err := errString("load", path, C.dl_gc_module_set_optimize(h, 1)); err != nil {
			C.dl_gc_module_free(h)
			return nil, err
		}
	}
	m := &Module{h: h, path: path, device: cfg.device, threads: int32(cfg.threads)}
	runtime.SetFinalizer(m, func(m *Module) { m.Close() })
	return m, nil
}

// Path returns the file the module was loaded from.
func (m *Module) Path() string { return m.path }

// Device returns the device the module lives on.
func (m *Module) Device() Device {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.device
}

// Methods lists the module's methods.
func (m *Module) Methods() ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.h == nil {
		return nil, ErrClosed
	}
	var names **C.char
	var n C.int32_t
	if err := errString("methods", m.path, C.dl_gc_module_methods(m.h, &names, &n)); err != nil {
		return nil, err
	}
	defer C.dl_gc_strings_free(names, n)
	out := make([]string, int(n))
	for i, s := range unsafe.Slice(names, int(n)) {
		out[i] = C.GoString(s)
	}
	return out, nil
}

// Run calls the named method with the inputs and returns its outputs (one
// tensor, or the tensors of a returned tuple or list, in order) in the
// dtypes the method produced. Inputs are read in place from Go memory on
// the CPU and copied to the module's device otherwise.
func (m *Module) Run(method string, inputs ...Tensor) ([]Tensor, error) {
	return m.run(method, -1, inputs)
}

// RunFloat32 is Run with every floating output converted to float32 on the
// module's device before it is copied back (for float16 models).
func (m *Module) RunFloat32(method string, inputs ...Tensor) ([]Tensor, error) {
	return m.run(method, Float32, inputs)
}

// testHookRun, when set (by tests), is called by each run holding the
// module's read lock, just before the native call.
var testHookRun atomic.Pointer[func()]

// testHookClose, when set (by tests), is called by Close before it takes
// the module's write lock.
var testHookClose atomic.Pointer[func()]

func (m *Module) run(method string, outDType DType, inputs []Tensor) ([]Tensor, error) {
	for i, t := range inputs {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("torch: run %s: input %d: %w", method, i, err)
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.h == nil {
		return nil, ErrClosed
	}
	cin := make([]C.gc_tensor, len(inputs))
	var data [4]unsafe.Pointer
	for i, t := range inputs {
		p, _, _ := t.raw()
		cin[i].dtype = C.int32_t(t.DType)
		cin[i].ndim = C.int32_t(len(t.Shape))
		for k, d := range t.Shape {
			cin[i].shape[k] = C.int64_t(d)
		}
		if i < len(data) {
			data[i] = p
		} else {
			cin[i].data = p
		}
	}
	var inPtr *C.gc_tensor
	if len(cin) > 0 {
		inPtr = &cin[0]
	}
	cmeth, temp := m.cname(method)
	if temp {
		defer C.free(unsafe.Pointer(cmeth))
	}
	var cout *C.gc_tensor
	var nout C.int32_t
	var e *C.char
	if h := testHookRun.Load(); h != nil {
		(*h)()
	}
	if len(inputs) <= len(data) {
		// The data pointers travel as arguments: no pinning needed.
		e = C.dl_gc_module_run_direct(m.h, cmeth, inPtr, C.int32_t(len(cin)), data[0], data[1], data[2], data[3],
			C.int32_t(outDType), C.int32_t(m.threads), &cout, &nout)
	} else {
		// Go pointers stored in the array must be pinned for the call.
		var pin runtime.Pinner
		defer pin.Unpin()
		for i := range cin {
			if p, _, _ := inputs[i].raw(); p != nil {
				pin.Pin(p)
				cin[i].data = p
			}
		}
		e = C.dl_gc_module_run(m.h, cmeth, inPtr, C.int32_t(len(cin)), C.int32_t(outDType), C.int32_t(m.threads), &cout, &nout)
	}
	if err := errString("run", method, e); err != nil {
		return nil, err
	}
	defer C.dl_gc_tensors_free(cout, nout)
	res := make([]Tensor, int(nout))
	for i, o := range unsafe.Slice(cout, int(nout)) {
		t := Tensor{DType: DType(o.dtype), Shape: make([]int64, int(o.ndim))}
		n := int64(1)
		for k := range t.Shape {
			t.Shape[k] = int64(o.shape[k])
			n *= t.Shape[k]
		}
		data, err := newData(t.DType, int(n))
		if err != nil {
			return nil, err
		}
		t.Data = data
		if n > 0 {
			dst, _, _ := t.raw()
			nb := int(n) * t.DType.Size()
			copy(unsafe.Slice((*byte)(dst), nb), unsafe.Slice((*byte)(o.data), nb))
		}
		res[i] = t
	}
	return res, nil
}

// To moves the module to device d and, when dtype is a floating type,
// converts every floating parameter and buffer to it. Pass dtype < 0
// (for example DType(-1)) to keep the dtypes.
func (m *Module) To(d Device, dtype DType) error {
	if err := d.check(); err != nil {
		return err
	}
	if dtype >= 0 && !dtype.IsFloat() {
		return fmt.Errorf("torch: to: %s is not a floating dtype", dtype)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return ErrClosed
	}
	cdev := C.CString(d.String())
	defer C.free(unsafe.Pointer(cdev))
	if err := errString("to", d.String(), C.dl_gc_module_to(m.h, cdev, C.int32_t(dtype))); err != nil {
		return err
	}
	m.device = d
	return nil
}

// CastParams converts the named parameters and buffers (full dotted names,
// such as "visual.conv1.weight") to a floating dtype, leaving the others as
// they are. An unknown name is an error and changes nothing.
func (m *Module) CastParams(names []string, dtype DType) error {
	if !dtype.IsFloat() {
		return fmt.Errorf("torch: cast: %s is not a floating dtype", dtype)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return ErrClosed
	}
	cs := make([]*C.char, len(names))
	for i, n := range names {
		cs[i] = C.CString(n)
	}
	defer func() {
		for _, c := range cs {
			C.free(unsafe.Pointer(c))
		}
	}()
	// The array of C strings lives in C memory: Go memory may not hold
	// C pointers that C reads as an array without pinning it.
	arr := (**C.char)(C.malloc(C.size_t(len(cs)+1) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(arr))
	copy(unsafe.Slice(arr, len(cs)), cs)
	return errString("cast", dtype.String(), C.dl_gc_module_cast(m.h, arr, C.int32_t(len(cs)), C.int32_t(dtype)))
}

// Close frees the native module. It is idempotent; every later call on the
// module returns ErrClosed.
func (m *Module) Close() error {
	if h := testHookClose.Load(); h != nil {
		(*h)()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		C.dl_gc_module_free(m.h)
		m.h = nil
		runtime.SetFinalizer(m, nil)
		m.names.Range(func(k, v any) bool {
			C.free(unsafe.Pointer(v.(*C.char)))
			m.names.Delete(k)
			return true
		})
	}
	return nil
}
