package half

import (
	"math"
	"testing"
)

func TestFromFloat32(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.1, 0x2e66},
		{0.33325195, 0x3555},
		{65504, 0x7bff},
		{65519.996, 0x7bff},
		{65520, 0x7c00}, // rounds to infinity
		{1e6, 0x7c00},
		{1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{6.1035156e-05, 0x0400}, // smallest normal
		{5.9604645e-08, 0x0001}, // smallest subnormal 2^-24
		{2.9802322e-08, 0x0000}, // 2^-25: tie, rounds to even 0
		{8.940697e-08, 0x0002},  // 1.5 * 2^-24: tie, rounds to even 2
		{1.0009766, 0x3c01},     // 1 + 2^-10
		{1.0004883, 0x3c00},     // 1 + 2^-11: tie, to even
		{1.0014648, 0x3c02},     // 1 + 3*2^-11: tie, to even (up)
		{-1.2813176, 0xbd20},
	}
	for _, c := range cases {
		if got := FromFloat32(c.f); got != c.want {
			t.Errorf("FromFloat32(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if got := FromFloat32(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", got)
	}
}

func TestRoundTrip(t *testing.T) {
	for h := 0; h < 0x10000; h++ { // every finite half round-trips
		if h&0x7c00 == 0x7c00 {
			continue
		}
		if got := FromFloat32(ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
	if f := ToFloat32(0x7c00); !math.IsInf(float64(f), 1) {
		t.Errorf("ToFloat32(0x7c00) = %v", f)
	}
	if f := ToFloat32(0x0001); f != float32(math.Pow(2, -24)) {
		t.Errorf("ToFloat32(0x0001) = %v", f)
	}
}
