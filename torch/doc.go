// Package torch is a small Go binding over libtorch's TorchScript runtime,
// through the C shim in cgo/ (libgoclip.so). It loads TorchScript modules onto a
// device, runs their named methods on tensors built from Go memory and copies
// the results back into Go memory.
//
// Building needs only a C compiler: the package carries the shim's header
// (goclip.h) and does not link the shim or libtorch. It opens the shim
// (dlopen) at run time, the first time libtorch is needed (Load, Version,
// CUDAAvailable, ... or Init), so programs that never touch a model never
// load libtorch. The shim is looked for, in order:
//
//  1. the path given to SetLibraryPath, else $GOCLIP_LIB (a file, or a
//     folder holding libgoclip.so); when either is set it is the only
//     place tried;
//  2. ../lib/libgoclip.so beside the executable (a bin/, lib/ pair as
//     scripts/setup.sh installs it under $GOCLIP_PREFIX);
//  3. the lib folder of the install prefix recorded in the binary at build
//     time (-ldflags "-X github.com/goclip/goclip/torch.installLibDir=DIR",
//     as scripts/setup.sh builds bin/clip);
//  4. the system's library search (LD_LIBRARY_PATH, ld.so.cache, /usr/lib).
//
// A failure is a *LibraryError naming every place tried; LibrarySearch
// reports the last search. The shim finds libtorch through its own
// RUNPATH. Without cgo the package builds to a stub whose calls return
// ErrNoCgo.
//
// Every libtorch failure comes back as a Go error from the call that caused
// it; no C++ exception reaches Go.
//
// A Module is safe for concurrent use by many goroutines: runs share a read
// lock, while To, CastParams and Close take the write lock. Close releases
// the native memory at once; a finalizer exists only as a safety net.
package torch
