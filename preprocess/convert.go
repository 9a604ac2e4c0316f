package preprocess

// Pixel conversions with Pillow 9.4's arithmetic (libImaging/Convert.c).

// muldiv255 is Pillow's MULDIV255: round(a*b/255) computed with shifts.
func muldiv255(a, b uint32) uint32 {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// clip8 clamps to [0, 255].
func clip8i(v int) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// cmykToRGB is Pillow's cmyk2rgb: R = (255-K) - round(C*(255-K)/255).
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := uint32(255 - k)
	return clip8i(int(nk) - int(muldiv255(uint32(c), nk))),
		clip8i(int(nk) - int(muldiv255(uint32(m), nk))),
		clip8i(int(nk) - int(muldiv255(uint32(y), nk)))
}

// convertRowToRGB converts pixels [x0, x0+w) of row y of m to RGB bytes in
// dst (len >= 3*w), as Pillow's convert("RGB") does for m.Mode.
func convertRowToRGB(m *Image, y, x0, w int, dst []uint8) {
	dst = dst[:3*w]
	switch m.Mode {
	case ModeRGB:
		copy(dst, m.Pix[(y*m.Width+x0)*3:])
	case ModeL:
		src := m.Pix[y*m.Width+x0:][:w]
		for i, v := range src {
			dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
		}
	case Mode1:
		src := m.Pix[y*m.Width+x0:][:w]
		for i, v := range src {
			if v != 0 {
				v = 255
			}
			dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
		}
	case ModeP:
		src := m.Pix[y*m.Width+x0:][:w]
		pal := m.Palette[:768]
		for i, v := range src {
			p := pal[int(v)*3:][:3]
			dst[3*i], dst[3*i+1], dst[3*i+2] = p[0], p[1], p[2]
		}
	case ModeLA:
		src := m.Pix[(y*m.Width+x0)*2:][:2*w]
		for i := 0; i < w; i++ {
			v := src[2*i]
			dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
		}
	case ModeRGBA:
		src := m.Pix[(y*m.Width+x0)*4:][:4*w]
		for i := 0; i < w; i++ {
			dst[3*i], dst[3*i+1], dst[3*i+2] = src[4*i], src[4*i+1], src[4*i+2]
		}
	case ModeRGBa:
		src := m.Pix[(y*m.Width+x0)*4:][:4*w]
		for i := 0; i < w; i++ {
			p := src[4*i : 4*i+4 : 4*i+4]
			a := int(p[3])
			if a == 0 || a == 255 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = p[0], p[1], p[2]
				continue
			}
			dst[3*i] = clip8i(255 * int(p[0]) / a)
			dst[3*i+1] = clip8i(255 * int(p[1]) / a)
			dst[3*i+2] = clip8i(255 * int(p[2]) / a)
		}
	case ModeCMYK:
		src := m.Pix[(y*m.Width+x0)*4:][:4*w]
		for i := 0; i < w; i++ {
			dst[3*i], dst[3*i+1], dst[3*i+2] = cmykToRGB(src[4*i], src[4*i+1], src[4*i+2], src[4*i+3])
		}
	case ModeI:
		src := m.PixI[y*m.Width+x0:][:w]
		for i, v := range src {
			var b uint8
			if v >= 255 {
				b = 255
			} else if v > 0 {
				b = uint8(v)
			}
			dst[3*i], dst[3*i+1], dst[3*i+2] = b, b, b
		}
	}
}

// premultiplyRow converts RGBA (4 bytes/pixel) or LA (2 bytes/pixel) to
// Pillow's premultiplied RGBa / La in place: c = MULDIV255(c, a).
func premultiplyRow(pix []uint8, ch int) {
	if ch == 4 {
		for i := 0; i+3 < len(pix); i += 4 {
			a := uint32(pix[i+3])
			pix[i] = uint8(muldiv255(uint32(pix[i]), a))
			pix[i+1] = uint8(muldiv255(uint32(pix[i+1]), a))
			pix[i+2] = uint8(muldiv255(uint32(pix[i+2]), a))
		}
		return
	}
	for i := 0; i+1 < len(pix); i += 2 {
		pix[i] = uint8(muldiv255(uint32(pix[i]), uint32(pix[i+1])))
	}
}

// unpremultiplyRow converts Pillow's RGBa / La back to RGBA / LA in place
// (rgbA2rgba / lA2la): c = CLIP8(255*c / a); a pixel with alpha 0 or 255
// keeps its value.
func unpremultiplyRow(pix []uint8, ch int) {
	if ch == 4 {
		for i := 0; i+3 < len(pix); i += 4 {
			a := int(pix[i+3])
			if a == 255 || a == 0 {
				continue
			}
			pix[i] = clip8i(255 * int(pix[i]) / a)
			pix[i+1] = clip8i(255 * int(pix[i+1]) / a)
			pix[i+2] = clip8i(255 * int(pix[i+2]) / a)
		}
		return
	}
	for i := 0; i+1 < len(pix); i += 2 {
		a := int(pix[i+1])
		if a != 0 && a != 255 {
			pix[i] = clip8i(255 * int(pix[i]) / a)
		}
	}
}
