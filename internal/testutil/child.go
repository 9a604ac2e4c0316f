package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RunChild runs the test binary again, in a fresh process, with only the
// test named test, stdin as its input and the environment changed by env
// ("NAME=value" sets a variable, "NAME=" removes it), and returns the first
// line of its standard output. The child test tells it is one by a
// variable that env sets.
func RunChild(tb testing.TB, test, stdin string, env ...string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	drop := map[string]bool{}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop[name] = true
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, kv := range env {
		if !strings.HasSuffix(kv, "=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("child process for %s: %v\n%s", test, err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}
