//go:build cgo

package preprocess

// The system zlib (the library Pillow links) through cgo, so that PNG image
// data is inflated with exactly zlib's semantics: how much input each
// inflate call consumes, when the Adler-32 trailer is checked, and which
// streams are errors. Pillow's ZipDecode stops making progress when zlib
// has consumed all the input it was given, so matching truncated files
// requires zlib itself, not just any inflater.

/*
#cgo LDFLAGS: -lz
#include <stdlib.h>
#include <zlib.h>

static z_stream *pz_new(int *rc) {
	z_stream *z = (z_stream *)calloc(1, sizeof(z_stream));
	if (z == NULL) { *rc = Z_MEM_ERROR; return NULL; }
	*rc = inflateInit(z);
	if (*rc != Z_OK) { free(z); return NULL; }
	return z;
}

// pz_inflate runs one inflate(Z_NO_FLUSH) call; in/out are advanced.
static int pz_inflate(z_stream *z, const unsigned char *in, unsigned int inLen, unsigned int *inLeft,
                      unsigned char *out, unsigned int outLen, unsigned int *outLeft) {
	z->next_in = (unsigned char *)in;
	z->avail_in = inLen;
	z->next_out = out;
	z->avail_out = outLen;
	int rc = inflate(z, Z_NO_FLUSH);
	*inLeft = z->avail_in;
	*outLeft = z->avail_out;
	z->next_in = NULL;
	z->next_out = NULL;
	return rc;
}

static void pz_free(z_stream *z) {
	if (z != NULL) { inflateEnd(z); free(z); }
}
*/
import "C"

import (
	"unsafe"
)

// zlib return codes used here.
const (
	zOK         = 0
	zStreamEnd  = 1
	zDataError  = -3
	zMemError   = -4
	zBufError   = -5
	zStreamErr  = -2
	zVersionErr = -6
)

// inflater is one zlib inflate stream.
type inflater struct {
	z *C.z_stream
}

func newInflater() (*inflater, error) {
	var rc C.int
	z := C.pz_new(&rc)
	if z == nil {
		return nil, corruptf("zlib inflateInit failed (%d)", int(rc))
	}
	return &inflater{z: z}, nil
}

// inflate runs one inflate call with in as the available input and out as
// the output space; it returns zlib's code and how much of each was used.
// Neither slice is retained after the call.
func (f *inflater) inflate(in, out []byte) (rc, nIn, nOut int) {
	var inLeft, outLeft C.uint
	var inPtr, outPtr *C.uchar
	if len(in) > 0 {
		inPtr = (*C.uchar)(unsafe.Pointer(&in[0]))
	}
	if len(out) > 0 {
		outPtr = (*C.uchar)(unsafe.Pointer(&out[0]))
	}
	r := C.pz_inflate(f.z, inPtr, C.uint(len(in)), &inLeft, outPtr, C.uint(len(out)), &outLeft)
	return int(r), len(in) - int(inLeft), len(out) - int(outLeft)
}

func (f *inflater) close() {
	if f.z != nil {
		C.pz_free(f.z)
		f.z = nil
	}
}
