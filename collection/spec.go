package collection

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrSpec reports a malformed input spec or shard selection.
var ErrSpec = errors.New("collection: invalid spec")

// ExpandBraces expands shell-style braces as WebDataset and clip-retrieval
// (Python's braceexpand) do: "{a,b}" alternatives and "{000..999}" numeric
// ranges (zero-padded to the width of the wider bound when either has a
// leading zero), nested and repeated, left to right.
func ExpandBraces(spec string) ([]string, error) {
	open := -1
	depth := 0
	for i, c := range spec {
		switch c {
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			if depth == 0 {
				return nil, fmt.Errorf("%w: unbalanced '}' in %q", ErrSpec, spec)
			}
			depth--
			if depth == 0 {
				alts, err := braceAlternatives(spec[open+1 : i])
				if err != nil {
					return nil, fmt.Errorf("%w in %q", err, spec)
				}
				rest, err := ExpandBraces(spec[i+1:])
				if err != nil {
					return nil, err
				}
				var out []string
				for _, a := range alts {
					for _, r := range rest {
						out = append(out, spec[:open]+a+r)
					}
				}
				return out, nil
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unbalanced '{' in %q", ErrSpec, spec)
	}
	return []string{spec}, nil
}

// braceAlternatives returns the choices of one brace body: a numeric range
// or a top-level comma list.
func braceAlternatives(body string) ([]string, error) {
	if lo, hi, ok := strings.Cut(body, ".."); ok && !strings.ContainsAny(body, ",{}") {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: range {%s} is not numeric", ErrSpec, body)
		}
		width := 0
		if (len(lo) > 1 && lo[0] == '0') || (len(hi) > 1 && hi[0] == '0') {
			width = max(len(lo), len(hi))
		}
		step := 1
		if b < a {
			step = -1
		}
		if n := (b-a)*step + 1; n > 10_000_000 {
			return nil, fmt.Errorf("%w: range {%s} has %d elements", ErrSpec, body, n)
		}
		var out []string
		for v := a; ; v += step {
			out = append(out, fmt.Sprintf("%0*d", width, v))
			if v == b {
				break
			}
		}
		return out, nil
	}
	var out []string
	depth, start := 0, 0
	for i, c := range body {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, body[start:i])
				start = i + 1
			}
		}
	}
	parts := append(out, body[start:])
	if len(parts) == 1 {
		// "{x}" without a comma or range is literal in braceexpand.
		return []string{"{" + body + "}"}, nil
	}
	out = nil
	for _, p := range parts {
		e, err := ExpandBraces(p)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	return out, nil
}

// Shard selects the partitions i with i % Count == Index.
type Shard struct {
	Index, Count int
}

// All is the shard that covers every partition.
var All = Shard{0, 1}

// Has reports whether partition i belongs to the shard.
func (s Shard) Has(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

// String formats the shard as "k/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ParseShard parses "k/n" (0 <= k < n).
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return Shard{}, fmt.Errorf("%w: shard wants k/n with 0 <= k < n, got %q", ErrSpec, s)
	}
	return Shard{k, n}, nil
}

// CountEnv is the environment variable that gives a Kubernetes Indexed
// Job's completion count to AutoShard when no count is passed.
const CountEnv = "CLIP_SHARD_COUNT"

// AutoShard finds this task's shard from the scheduler's environment:
// a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with the count from
// count when > 0, else $CLIP_SHARD_COUNT) or a Slurm job array
// (SLURM_ARRAY_TASK_ID relative to SLURM_ARRAY_TASK_MIN and
// SLURM_ARRAY_TASK_STEP, of SLURM_ARRAY_TASK_COUNT tasks); elsewhere it
// is All. getenv is os.Getenv when nil.
func AutoShard(count int, getenv func(string) string) (Shard, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	atoi := func(name, def string) (int, error) {
		v := getenv(name)
		if v == "" {
			v = def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%w: $%s=%q is not an integer", ErrSpec, name, v)
		}
		return n, nil
	}
	check := func(s Shard, from string) (Shard, error) {
		if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
			return Shard{}, fmt.Errorf("%w: %s gives shard %d of %d", ErrSpec, from, s.Index, s.Count)
		}
		return s, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		k, err := atoi("JOB_COMPLETION_INDEX", "")
		if err != nil {
			return Shard{}, err
		}
		n := count
		if n <= 0 {
			if getenv(CountEnv) == "" {
				return Shard{}, fmt.Errorf("%w: $JOB_COMPLETION_INDEX is set but the task count is not (pass --shard-count or set $%s to the Job's completions)", ErrSpec, CountEnv)
			}
			if n, err = atoi(CountEnv, ""); err != nil {
				return Shard{}, err
			}
		}
		return check(Shard{k, n}, "$JOB_COMPLETION_INDEX")
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		id, err := atoi("SLURM_ARRAY_TASK_ID", "")
		if err != nil {
			return Shard{}, err
		}
		lo, err := atoi("SLURM_ARRAY_TASK_MIN", "0")
		if err != nil {
			return Shard{}, err
		}
		step, err := atoi("SLURM_ARRAY_TASK_STEP", "1")
		if err != nil || step < 1 {
			return Shard{}, fmt.Errorf("%w: $SLURM_ARRAY_TASK_STEP=%q", ErrSpec, getenv("SLURM_ARRAY_TASK_STEP"))
		}
		n := count
		if n <= 0 {
			if n, err = atoi("SLURM_ARRAY_TASK_COUNT", ""); err != nil {
				return Shard{}, err
			}
		}
		if (id-lo)%step != 0 {
			return Shard{}, fmt.Errorf("%w: $SLURM_ARRAY_TASK_ID %d is not on the array's step %d from %d", ErrSpec, id, step, lo)
		}
		return check(Shard{(id - lo) / step, n}, "$SLURM_ARRAY_TASK_ID")
	}
	return All, nil
}
