// Command clip runs OpenAI's CLIP from the command line: tokenizing,
// preprocessing, embedding, zero-shot classification, ranking and search,
// with outputs equal to the official Python implementation's.
//
// Run "clip help" for the list of subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	flags   []flagSpec
	// positional says the command takes arguments besides its flags
	// (files); the others refuse any.
	positional bool
	argHint    string // added to the error for an unexpected argument
	run        func(ctx context.Context, env *env, a *parsedArgs) error
}

// env carries the process's streams, so commands are testable.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	isTerminal     bool // stderr is a terminal (progress bars)
}

func commands() []*command {
	return []*command{
		doctorCmd(), versionCmd(), tokenizeCmd(), preprocessCmd(), embedCmd(), exportCmd(),
		classifyCmd(), rankCmd(), searchCmd(), benchCmd(), parityCmd(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, isTerminal: isTerminal(os.Stderr)}
	os.Exit(run(ctx, e, os.Args[1:]))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// run executes one command line and returns the exit status: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, e *env, args []string) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "clip: internal error: %v\n", r)
			status = 1
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				printUsage(e.stdout, c)
				return 0
			}
		}
		printHelp(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "clip: unknown command %q\nRun \"clip help\" for the list of commands.\n", args[0])
		return 2
	}
	specs := append([]flagSpec{{name: "help", kind: boolArg, usage: "show this help"}, {name: "h", kind: boolArg, usage: "show this help"}}, c.flags...)
	a, err := parseArgs(args[1:], specs)
	if err == nil && (a.bools["help"] || a.bools["h"]) {
		printUsage(e.stdout, c)
		return 0
	}
	if err == nil && !c.positional && len(a.positional) > 0 {
		err = unexpectedArg(c, a.positional[0])
	}
	if err == nil {
		err = c.run(ctx, e, a)
	}
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "clip %s: %v\nRun \"clip help %s\" for usage.\n", c.name, err, c.name)
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(e.stderr, "clip %s: %s\n", c.name, ee.msg)
		}
		return ee.code
	}
	// Library errors start with their package's name: one prefix is enough.
	fmt.Fprintf(e.stderr, "clip %s: %s\n", c.name, strings.TrimPrefix(err.Error(), "clip: "))
	return 1
}

// unexpectedArg is the usage error for an argument a command does not take.
func unexpectedArg(c *command, arg string) error {
	if c.argHint != "" {
		return usagef("unexpected argument %q (%s)", arg, c.argHint)
	}
	return usagef("unexpected argument %q", arg)
}

// exitError ends a command with a given status and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "clip %s: OpenAI CLIP from Go, reference-exact.\n\nUsage: clip COMMAND [flags] [args]\n\nCommands:\n", version)
	cs := commands()
	sort.SliceStable(cs, func(i, j int) bool { return false })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"clip help COMMAND\" for a command's flags.\n")
}

func printUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: clip %s\n\n%s\n\nFlags:\n%s", c.usage, c.summary, helpText(c.flags))
}

func versionCmd() *command {
	return &command{
		name: "version", summary: "print the version", usage: "version",
		run: func(ctx context.Context, e *env, a *parsedArgs) error {
			fmt.Fprintln(e.stdout, version)
			return nil
		},
	}
}

// joinNonEmpty joins the non-empty strings with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
