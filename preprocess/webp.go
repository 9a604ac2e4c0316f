package preprocess

import "image"

// libwebp's Y'CbCr -> RGB conversion (src/dsp/yuv.h, 14-bit fixed point)
// and its "fancy" chroma upsampler (src/dsp/upsampling.c), which Pillow's
// WebP decoder uses by default. golang.org/x/image/webp decodes the VP8
// planes exactly; this turns them into the RGB libwebp would output.

func webpMultHi(v, coeff int) int { return (v * coeff) >> 8 }

func webpClip8(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpYUVToRGB(y, u, v int, dst []uint8) {
	yy := webpMultHi(y, 19077)
	dst[0] = webpClip8(yy + webpMultHi(v, 26149) - 14234)
	dst[1] = webpClip8(yy - webpMultHi(u, 6419) - webpMultHi(v, 13320) + 8708)
	dst[2] = webpClip8(yy + webpMultHi(u, 33050) - 17685)
}

// webpUpsampleRow converts one luma row with the chroma rows above (tu, tv)
// and below (cu, cv); bottom selects the weights of the lower row of a pair.
func webpUpsampleRow(yRow, tu, tv, cu, cv []uint8, bottom bool, dst []uint8, ch int) {
	n := len(yRow)
	put := func(x, u, v int) {
		webpYUVToRGB(int(yRow[x]), u, v, dst[x*ch:])
	}
	edge := func(t, c int) int {
		if bottom {
			return (3*c + t + 2) >> 2
		}
		return (3*t + c + 2) >> 2
	}
	tlu, tlv := int(tu[0]), int(tv[0])
	lu, lv := int(cu[0]), int(cv[0])
	put(0, edge(tlu, lu), edge(tlv, lv))
	last := (n - 1) >> 1
	for x := 1; x <= last; x++ {
		tuu, tvv := int(tu[x]), int(tv[x])
		uu, vv := int(cu[x]), int(cv[x])
		d12u := (tlu + 3*tuu + 3*lu + uu + 8) >> 3
		d03u := (3*tlu + tuu + lu + 3*uu + 8) >> 3
		d12v := (tlv + 3*tvv + 3*lv + vv + 8) >> 3
		d03v := (3*tlv + tvv + lv + 3*vv + 8) >> 3
		if !bottom {
			put(2*x-1, (d12u+tlu)>>1, (d12v+tlv)>>1)
			put(2*x, (d03u+tuu)>>1, (d03v+tvv)>>1)
		} else {
			put(2*x-1, (d03u+lu)>>1, (d03v+lv)>>1)
			put(2*x, (d12u+uu)>>1, (d12v+vv)>>1)
		}
		tlu, tlv, lu, lv = tuu, tvv, uu, vv
	}
	if n&1 == 0 {
		put(n-1, edge(tlu, lu), edge(tlv, lv))
	}
}

// webpYCbCrToRGB converts a 4:2:0 frame to RGB, or RGBA when alpha is given.
func webpYCbCrToRGB(m *image.YCbCr, alpha []uint8, astride int) *Image {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	mode, ch := ModeRGB, 3
	if alpha != nil {
		mode, ch = ModeRGBA, 4
	}
	im := newImage(mode, w, h)
	cw := (w + 1) / 2
	yRow := func(y int) []uint8 { return m.Y[y*m.YStride : y*m.YStride+w] }
	uRow := func(k int) []uint8 { return m.Cb[k*m.CStride : k*m.CStride+cw] }
	vRow := func(k int) []uint8 { return m.Cr[k*m.CStride : k*m.CStride+cw] }
	for y := 0; y < h; y++ {
		dst := im.Pix[y*w*ch : (y+1)*w*ch]
		switch {
		case y == 0:
			webpUpsampleRow(yRow(0), uRow(0), vRow(0), uRow(0), vRow(0), false, dst, ch)
		case y&1 == 1:
			k := (y + 1) / 2
			if y+1 < h {
				webpUpsampleRow(yRow(y), uRow(k-1), vRow(k-1), uRow(k), vRow(k), false, dst, ch)
			} else {
				webpUpsampleRow(yRow(y), uRow(k-1), vRow(k-1), uRow(k-1), vRow(k-1), false, dst, ch)
			}
		default:
			k := y / 2
			webpUpsampleRow(yRow(y), uRow(k-1), vRow(k-1), uRow(k), vRow(k), true, dst, ch)
		}
		if alpha != nil {
			a := alpha[y*astride : y*astride+w]
			for x := 0; x < w; x++ {
				dst[4*x+3] = a[x]
			}
		}
	}
	return im
}
