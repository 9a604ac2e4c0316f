package jsonstr

import (
	"encoding/json"
	"fmt"
	"testing"
)

// check fails unless AppendUnquote agrees with encoding/json on b: when it
// takes b, json.Unmarshal must succeed with the same string.
func check(t *testing.T, b []byte) (string, bool) {
	t.Helper()
	prefix := []byte("prefix")
	got, ok := AppendUnquote(append([]byte(nil), prefix...), b)
	if string(got[:len(prefix)]) != string(prefix) {
		t.Fatalf("%q: dst's bytes were changed", b)
	}
	var want string
	err := json.Unmarshal(b, &want)
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("%q: refused, but dst grew to %q", b, got)
		}
		return "", false
	}
	if err != nil {
		t.Fatalf("%q: AppendUnquote took it as %q, encoding/json refuses it: %v", b, got[len(prefix):], err)
	}
	if s := string(got[len(prefix):]); s != want {
		t.Fatalf("%q: AppendUnquote gives %q, encoding/json %q", b, s, want)
	}
	return want, true
}

func TestAppendUnquote(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`""`, "", true},
		{`"a photo of a cat"`, "a photo of a cat", true},
		{`"caf\u00e9 \u00E9"`, "café é", true},
		{`"café 日本語"`, "café 日本語", true},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t", true},
		{`"\u003chtml\u003e \u0026"`, "<html> &", true},
		{`"\ud83d\ude00 smile"`, "😀 smile", true},
		{`"\ud83d"`, "\ufffd", true},
		{`"\ud83d x"`, "\ufffd x", true},
		{`"\ude00\ud83d"`, "\ufffd\ufffd", true},
		{`"\ud83d\u0041"`, "\ufffdA", true},
		{`"\ud83d\ud83d\ude00"`, "\ufffd😀", true},
		{`"\u0000"`, "\x00", true},
		// Left to encoding/json (an error or its own substitution).
		{`"bad \x"`, "", false},
		{`"\u12"`, "", false},
		{`"\u12g4"`, "", false},
		{"\"tab\there\"", "", false},
		{"\"\xff\"", "", false},
		{`"a" "b"`, "", false},
		{`"unterminated\"`, "", false},
		{`"`, "", false},
		{`null`, "", false},
		{`123`, "", false},
		{`["x"]`, "", false},
		{` "x"`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := check(t, []byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestAppendUnquoteMarshal round-trips what encoding/json writes, including
// every character of the first planes.
func TestAppendUnquoteMarshal(t *testing.T) {
	for r := rune(0); r < 0x20000; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		s := fmt.Sprintf("x%cy", r)
		b, _ := json.Marshal(s)
		if got, ok := check(t, b); !ok || got != s {
			t.Fatalf("%U: got %q, %v", r, got, ok)
		}
	}
}

func FuzzAppendUnquote(f *testing.F) {
	for _, s := range []string{`""`, `"a\u00e9"`, `"\ud83d\ude00"`, `"\ud83d\u0041"`, `"\\\""`, "\"\xc3\"", `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
	})
}
