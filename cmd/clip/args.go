package main

import (
	"fmt"
	"strconv"
	"strings"
)

// argKind says how a flag takes values.
type argKind int

const (
	boolArg  argKind = iota // --flag
	valueArg                // --flag V or --flag=V (repeatable)
	multiArg                // --flag V1 V2 ... up to the next --flag
)

// flagSpec declares one flag of a subcommand.
type flagSpec struct {
	name  string // without dashes; "o" matches -o and --o
	kind  argKind
	usage string
}

// parsedArgs holds the result of parseArgs.
type parsedArgs struct {
	values     map[string][]string
	bools      map[string]bool
	positional []string
}

// usageError is a command-line mistake: exit status 2 with usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// parseArgs parses GNU-style flags anywhere among positional arguments. A
// lone "--" ends flag parsing.
func parseArgs(args []string, specs []flagSpec) (*parsedArgs, error) {
	byName := map[string]flagSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	p := &parsedArgs{values: map[string][]string{}, bools: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.positional = append(p.positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" || isNumber(a) {
			p.positional = append(p.positional, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if k := strings.IndexByte(name, '='); k >= 0 {
			name, val, hasVal = name[:k], name[k+1:], true
		}
		s, ok := byName[name]
		if !ok {
			return nil, usagef("unknown flag %s", a)
		}
		switch s.kind {
		case boolArg:
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, usagef("flag --%s takes no value", name)
				}
				p.bools[name] = b
			} else {
				p.bools[name] = true
			}
		case valueArg:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, usagef("flag --%s needs a value", name)
				}
				i++
				val = args[i]
			}
			p.values[name] = append(p.values[name], val)
		case multiArg:
			if hasVal {
				p.values[name] = append(p.values[name], val)
			}
			for i+1 < len(args) && !(strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1 && !isNumber(args[i+1])) {
				i++
				p.values[name] = append(p.values[name], args[i])
			}
			if _, ok := p.values[name]; !ok {
				return nil, usagef("flag --%s needs at least one value", name)
			}
		}
	}
	return p, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// str returns the last value of a flag, or def.
func (p *parsedArgs) str(name, def string) string {
	if v := p.values[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// integer returns the last value of a flag as an int, or def.
func (p *parsedArgs) integer(name string, def int) (int, error) {
	v := p.str(name, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, usagef("--%s wants an integer, got %q", name, v)
	}
	return n, nil
}

// helpText renders the flag list of a subcommand.
func helpText(specs []flagSpec) string {
	var b strings.Builder
	for _, s := range specs {
		arg := ""
		switch s.kind {
		case valueArg:
			arg = " V"
		case multiArg:
			arg = " V..."
		}
		dash := "--"
		if len(s.name) == 1 {
			dash = "-"
		}
		fmt.Fprintf(&b, "  %-26s %s\n", dash+s.name+arg, s.usage)
	}
	return b.String()
}
