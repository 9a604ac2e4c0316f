package torch

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// The function pointers, and a check at compile time that each has the
// type goclip.h declares.
#define GC_PTR_DEF(ret, name, params, args) \
  ret(*p_##name) params;                    \
  _Static_assert(__builtin_types_compatible_p(__typeof__(&name), ret(*) params), #name);
#define GC_PTR_DEF_V(name, params, args) GC_PTR_DEF(void, name, params, args)
GC_FUNCS(GC_PTR_DEF, GC_PTR_DEF_V)

#define GC_SYM(ret, name, params, args) {#name, (void **)&p_##name},
#define GC_SYM_V(name, params, args) GC_SYM(void, name, params, args)
static const struct {
  const char *name;
  void **slot;
} gc_syms[] = {GC_FUNCS(GC_SYM, GC_SYM_V)};
#define GC_NSYMS (sizeof(gc_syms) / sizeof(gc_syms[0]))

// dl_gc_open opens the shim at path and resolves all its functions. All or
// nothing: on failure it returns a message (free it) and changes nothing.
static char *dl_gc_open(const char *path) {
  char buf[512];
  dlerror();
  // RTLD_LOCAL: libtorch's symbols stay out of the process's global scope.
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    return strdup(e != NULL ? e : "dlopen failed");
  }
  void *found[GC_NSYMS];
  for (size_t i = 0; i < GC_NSYMS; i++) {
    found[i] = dlsym(h, gc_syms[i].name);
    if (found[i] == NULL) {
      snprintf(buf, sizeof buf, "no function %s: not a goclip shim, or one older than this program", gc_syms[i].name);
      dlclose(h);
      return strdup(buf);
    }
  }
  int32_t abi = ((int32_t(*)(void))found[0])();
  if (abi != GC_ABI_VERSION) {
    snprintf(buf, sizeof buf, "shim has interface version %d, this program needs %d: rebuild one to match the other", (int)abi, GC_ABI_VERSION);
    dlclose(h);
    return strdup(buf);
  }
  for (size_t i = 0; i < GC_NSYMS; i++) *gc_syms[i].slot = found[i];
  return NULL;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// installLibDir is the lib folder of the prefix scripts/setup.sh installed
// the shim into, recorded in the binaries it builds with
// -ldflags "-X github.com/goclip/goclip/torch.installLibDir=DIR".
// Empty in a plain go build.
var installLibDir string

var (
	libMu       sync.Mutex
	libLoaded   atomic.Bool
	libExplicit string      // SetLibraryPath
	libTried    []Candidate // the last search
)

// SetLibraryPath names the shim file to open (or a folder holding
// libgoclip.so), overriding $GOCLIP_LIB and the search. Call it before the
// first use of the package; once a shim is open, naming another is an
// error.
func SetLibraryPath(path string) error {
	libMu.Lock()
	defer libMu.Unlock()
	if libLoaded.Load() {
		if opened := loadedPath(); path != opened {
			return fmt.Errorf("torch: shim %s is already open; cannot switch to %s", opened, path)
		}
		return nil
	}
	libExplicit = path
	return nil
}

// Init opens the shim now, if it is not open yet, and reports why it could
// not be. Every function of the package that needs libtorch calls it, so
// calling it is optional: it moves the cost (tens to hundreds of
// milliseconds, libtorch's start-up) to a time of the caller's choosing.
func Init() error {
	if libLoaded.Load() {
		return nil
	}
	libMu.Lock()
	defer libMu.Unlock()
	if libLoaded.Load() {
		return nil
	}
	cands := candidates()
	for i := range cands {
		c := &cands[i]
		if c.Err != nil {
			continue
		}
		c.Tried = true
		cpath := C.CString(c.Path)
		e := C.dl_gc_open(cpath)
		C.free(unsafe.Pointer(cpath))
		if e != nil {
			// dlerror's message starts with the path, which c names already.
			c.Err = errors.New(strings.TrimPrefix(C.GoString(e), c.Path+": "))
			C.free(unsafe.Pointer(e))
			continue
		}
		c.Opened = true
		libTried = cands
		libLoaded.Store(true)
		return nil
	}
	libTried = cands
	return &LibraryError{Tried: cands}
}

// Loaded reports whether the shim (and so libtorch) is open in this
// process. It opens nothing.
func Loaded() bool { return libLoaded.Load() }

// LibrarySearch returns the places the last Init looked for the shim, in
// order: the one opened (Opened), those that failed (Err), and those not
// tried because an earlier one was opened. Nil before the first Init.
func LibrarySearch() []Candidate {
	libMu.Lock()
	defer libMu.Unlock()
	return append([]Candidate(nil), libTried...)
}

// candidates lists where the shim is looked for, in order. A name given by
// SetLibraryPath or $GOCLIP_LIB is the only candidate: asking for a file
// and silently getting another would be worse than an error.
func candidates() []Candidate {
	explicit := func(path, source string) []Candidate {
		c := Candidate{Path: path, Source: source}
		if strings.Contains(path, "/") {
			if abs, err := filepath.Abs(path); err == nil {
				c.Path = abs
			}
			if st, err := os.Stat(c.Path); err == nil && st.IsDir() {
				c.Path = filepath.Join(c.Path, LibraryName)
			}
			if _, err := os.Stat(c.Path); err != nil {
				c.Err = statErr(err)
			}
		}
		return []Candidate{c}
	}
	if libExplicit != "" {
		return explicit(libExplicit, SourceOption)
	}
	if env := os.Getenv("GOCLIP_LIB"); env != "" {
		return explicit(env, SourceEnv)
	}
	var out []Candidate
	file := func(path, source string) {
		c := Candidate{Path: path, Source: source}
		if _, err := os.Stat(path); err != nil {
			c.Err = statErr(err)
		}
		out = append(out, c)
	}
	if exe, err := os.Executable(); err != nil {
		out = append(out, Candidate{Source: SourceExecutable, Err: err})
	} else {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		file(filepath.Join(filepath.Dir(exe), "..", "lib", LibraryName), SourceExecutable)
	}
	if installLibDir != "" {
		file(filepath.Join(installLibDir, LibraryName), SourcePrefix)
	}
	out = append(out, Candidate{Path: LibraryName, Source: SourceSystem})
	return out
}

// loadedPath is the absolute path of the open shim.
func loadedPath() string { return C.GoString(C.dl_gc_shim_path()) }

// errNoFile is a candidate's error when the file does not exist.
var errNoFile = errors.New("no such file")

func statErr(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errNoFile
	}
	return err
}

// testFailAlloc makes the shim's allocation numbered after from now fail
// (gc_test_fail_alloc); for tests of the out-of-memory paths.
func testFailAlloc(after int) {
	if Init() == nil {
		C.dl_gc_test_fail_alloc(C.int32_t(after))
	}
}
