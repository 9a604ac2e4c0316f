//go:build cgo

package preprocess

// This file is the only cgo part of the package: a thin layer over
// libjpeg-turbo (Debian libjpeg62-turbo-dev), the decoder Pillow links, so
// that JPEG pixels match Pillow bit for bit. libjpeg reports fatal errors by
// calling error_exit; the C helpers below catch that with setjmp/longjmp
// inside each call, so an error never aborts the process and never unwinds
// through Go frames. The input bytes are pinned (runtime.Pinner) for the
// decoder's lifetime because libjpeg keeps a pointer to them between calls.

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

typedef struct {
	struct jpeg_decompress_struct cinfo; // must stay first
	struct jpeg_error_mgr pub;
	struct jpeg_source_mgr src;
	jmp_buf jb;
	int created;
	int eof;     // libjpeg asked for bytes past the end of the data
	int msgcode; // libjpeg message code of the fatal error
	char msg[JMSG_LENGTH_MAX];
} gj;

static const JOCTET gj_fake_eoi[2] = {0xFF, 0xD9};

static void gj_error_exit(j_common_ptr c) {
	gj *g = (gj *)c;
	g->msgcode = c->err->msg_code;
	(*c->err->format_message)(c, g->msg);
	longjmp(g->jb, 1);
}

// Warnings are ignored, as Pillow does.
static void gj_output_message(j_common_ptr c) { (void)c; }
static void gj_init_source(j_decompress_ptr c) { (void)c; }
static void gj_term_source(j_decompress_ptr c) { (void)c; }

// The whole file is in memory, so a request for more input means the data
// ended early. Pillow (LOAD_TRUNCATED_IMAGES=False) fails in exactly that
// situation; the flag records it and a fake EOI lets libjpeg unwind cleanly.
static boolean gj_fill_input(j_decompress_ptr c) {
	gj *g = (gj *)c;
	g->eof = 1;
	g->src.next_input_byte = gj_fake_eoi;
	g->src.bytes_in_buffer = 2;
	return TRUE;
}

static void gj_skip_input(j_decompress_ptr c, long n) {
	gj *g = (gj *)c;
	if (n <= 0) return;
	while (n > (long)g->src.bytes_in_buffer) {
		n -= (long)g->src.bytes_in_buffer;
		gj_fill_input(c);
	}
	g->src.next_input_byte += (size_t)n;
	g->src.bytes_in_buffer -= (size_t)n;
}

static gj *gj_new(void) {
	gj *g = (gj *)calloc(1, sizeof(gj));
	return g;
}

static void gj_free(gj *g) {
	if (g == NULL) return;
	if (g->created) {
		if (setjmp(g->jb) == 0) jpeg_destroy_decompress(&g->cinfo);
	}
	free(g);
}

// gj_header reads the JPEG header. info receives width, height,
// num_components, jpeg_color_space, progressive_mode.
static int gj_header(gj *g, const unsigned char *data, size_t len, int *info) {
	if (setjmp(g->jb)) return -1;
	g->cinfo.err = jpeg_std_error(&g->pub);
	g->pub.error_exit = gj_error_exit;
	g->pub.output_message = gj_output_message;
	jpeg_create_decompress(&g->cinfo);
	g->created = 1;
	g->src.init_source = gj_init_source;
	g->src.fill_input_buffer = gj_fill_input;
	g->src.skip_input_data = gj_skip_input;
	g->src.resync_to_restart = jpeg_resync_to_restart;
	g->src.term_source = gj_term_source;
	g->src.next_input_byte = data;
	g->src.bytes_in_buffer = len;
	g->cinfo.src = &g->src;
	jpeg_read_header(&g->cinfo, TRUE);
	info[0] = (int)g->cinfo.image_width;
	info[1] = (int)g->cinfo.image_height;
	info[2] = g->cinfo.num_components;
	info[3] = (int)g->cinfo.jpeg_color_space;
	info[4] = g->cinfo.progressive_mode ? 1 : 0;
	return 0;
}

// gj_start starts decompression into out_cs (1 gray, 2 RGB, 4 CMYK) with
// libjpeg's defaults (ISLOW IDCT, fancy upsampling) and, when width is below
// the image width, crops the output columns (jpeg_crop_scanline widens the
// window to an iMCU boundary). crop receives the actual x offset and width.
static int gj_start(gj *g, int out_cs, unsigned int xoff, unsigned int width, unsigned int *crop) {
	if (setjmp(g->jb)) return -1;
	switch (out_cs) {
	case 1: g->cinfo.out_color_space = JCS_GRAYSCALE; break;
	case 4: g->cinfo.out_color_space = JCS_CMYK; break;
	default: g->cinfo.out_color_space = JCS_RGB; break;
	}
	g->cinfo.dct_method = JDCT_ISLOW;
	g->cinfo.do_fancy_upsampling = TRUE;
	jpeg_start_decompress(&g->cinfo);
	JDIMENSION x = xoff, w = width;
	if (w > 0 && w < g->cinfo.output_width) {
		jpeg_crop_scanline(&g->cinfo, &x, &w);
	} else {
		x = 0;
		w = g->cinfo.output_width;
	}
	crop[0] = x;
	crop[1] = w;
	return 0;
}

// gj_read reads up to n scanlines into buf (row stride bytes); *got
// receives the number read.
static int gj_read(gj *g, unsigned char *buf, size_t stride, int n, int *got) {
	volatile int done = 0;
	if (setjmp(g->jb)) { *got = done; return -1; }
	JSAMPROW rows[16];
	while (done < n && g->cinfo.output_scanline < g->cinfo.output_height) {
		int k = n - done;
		if (k > 16) k = 16;
		for (int i = 0; i < k; i++) rows[i] = buf + (size_t)(done + i) * stride;
		JDIMENSION r = jpeg_read_scanlines(&g->cinfo, rows, (JDIMENSION)k);
		if (r == 0) break;
		done += (int)r;
	}
	*got = done;
	return 0;
}

// gj_skip skips n scanlines (entropy decoding still runs for single-scan
// files, so truncation is still detected).
static int gj_skip(gj *g, unsigned int n) {
	if (setjmp(g->jb)) return -1;
	JDIMENSION left = n;
	while (left > 0 && g->cinfo.output_scanline < g->cinfo.output_height) {
		JDIMENSION s = jpeg_skip_scanlines(&g->cinfo, left);
		if (s == 0) break;
		left -= s;
	}
	return 0;
}

// gj_finish returns 1 when jpeg_finish_decompress suspended (more input
// was needed to reach EOI).
static int gj_finish(gj *g) {
	if (setjmp(g->jb)) return -1;
	return jpeg_finish_decompress(&g->cinfo) ? 0 : 1;
}

static int gj_eof(gj *g) { return g->eof; }
static const char *gj_msg(gj *g) { return g->msg; }
static int gj_msgcode(gj *g) { return g->msgcode; }
static unsigned int gj_scanline(gj *g) { return g->cinfo.output_scanline; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// jpegColorSpace selects libjpeg's output colour space.
type jpegColorSpace int

const (
	jpegOutGray jpegColorSpace = 1
	jpegOutRGB  jpegColorSpace = 2
	jpegOutCMYK jpegColorSpace = 4
)

// libjpeg J_COLOR_SPACE values reported by the header.
const (
	jcsGrayscale = 1
	jcsRGB       = 2
	jcsYCbCr     = 3
	jcsCMYK      = 4
	jcsYCCK      = 5
)

// jpegHeader is what libjpeg reports about a file after jpeg_read_header.
type jpegHeader struct {
	width, height, components int
	colorSpace                int
	progressive               bool
}

// libjpegDecoder wraps one libjpeg decompressor over an in-memory file.
// It is not safe for concurrent use.
type libjpegDecoder struct {
	g    *C.gj
	pin  runtime.Pinner
	data []byte
}

// newLibjpegDecoder reads the header of data with libjpeg.
func newLibjpegDecoder(data []byte) (*libjpegDecoder, jpegHeader, error) {
	var h jpegHeader
	if len(data) == 0 {
		return nil, h, errTruncated("empty JPEG data")
	}
	g := C.gj_new()
	if g == nil {
		return nil, h, fmt.Errorf("preprocess: libjpeg: out of memory")
	}
	d := &libjpegDecoder{g: g, data: data}
	d.pin.Pin(&data[0])
	var info [5]C.int
	rc := C.gj_header(g, (*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &info[0])
	if err := d.check(rc); err != nil {
		d.close()
		return nil, h, err
	}
	h = jpegHeader{
		width:       int(info[0]),
		height:      int(info[1]),
		components:  int(info[2]),
		colorSpace:  int(info[3]),
		progressive: info[4] != 0,
	}
	return d, h, nil
}

// check turns a helper's status into an error: libjpeg's fatal error, or
// truncation when libjpeg needed bytes past the end of the data.
func (d *libjpegDecoder) check(rc C.int) error {
	if rc != 0 {
		msg := C.GoString(C.gj_msg(d.g))
		if C.gj_eof(d.g) != 0 {
			return errTruncated("image file is truncated (libjpeg: " + msg + ")")
		}
		return corruptf("libjpeg: %s", msg)
	}
	if C.gj_eof(d.g) != 0 {
		return errTruncated("image file is truncated")
	}
	return nil
}

// start begins decompression into cs. When width > 0 only the columns
// [xoff, xoff+width) are wanted; the returned window (cropX, cropW) covers
// them (libjpeg aligns it to iMCU boundaries).
func (d *libjpegDecoder) start(cs jpegColorSpace, xoff, width int) (cropX, cropW int, err error) {
	var crop [2]C.uint
	rc := C.gj_start(d.g, C.int(cs), C.uint(xoff), C.uint(width), &crop[0])
	if err := d.check(rc); err != nil {
		return 0, 0, err
	}
	return int(crop[0]), int(crop[1]), nil
}

// read decodes up to n scanlines into buf with the given row stride and
// returns how many it produced.
func (d *libjpegDecoder) read(buf []byte, stride, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	if len(buf) < (n-1)*stride+1 {
		return 0, fmt.Errorf("preprocess: internal error: JPEG row buffer too small")
	}
	var got C.int
	rc := C.gj_read(d.g, (*C.uchar)(unsafe.Pointer(&buf[0])), C.size_t(stride), C.int(n), &got)
	if err := d.check(rc); err != nil {
		return int(got), err
	}
	return int(got), nil
}

// skip skips n scanlines.
func (d *libjpegDecoder) skip(n int) error {
	if n <= 0 {
		return nil
	}
	return d.check(C.gj_skip(d.g, C.uint(n)))
}

// scanline is the number of scanlines read or skipped so far.
func (d *libjpegDecoder) scanline() int { return int(C.gj_scanline(d.g)) }

// finish reads to the end of the file as Pillow does once all scanlines are
// decoded. Running out of data here is not an error (Pillow ignores a
// suspension in jpeg_finish_decompress); a libjpeg error is.
func (d *libjpegDecoder) finish() error {
	rc := C.gj_finish(d.g)
	if rc < 0 {
		if C.gj_eof(d.g) != 0 {
			return nil
		}
		return corruptf("libjpeg: %s", C.GoString(C.gj_msg(d.g)))
	}
	return nil
}

// close releases the decompressor and unpins the data.
func (d *libjpegDecoder) close() {
	if d.g != nil {
		C.gj_free(d.g)
		d.g = nil
	}
	d.pin.Unpin()
}
