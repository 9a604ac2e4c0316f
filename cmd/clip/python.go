package main

import (
	"context"
	"errors"
	"os/exec"

	"github.com/goclip/goclip/internal/pyexport"
)

// runPython runs the project's Python interpreter with args, passing the
// streams through; its exit status becomes clip's.
func runPython(ctx context.Context, e *env, args []string) error {
	cmd := exec.CommandContext(ctx, pyexport.Python(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.ExitCode()}
	}
	return err
}
