package main

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/collection"
)

func mergeCmd() *command {
	return &command{
		name:       "merge",
		summary:    "join a clip-retrieval layout's partitions (all shards) into one .npy and .jsonl index",
		usage:      "merge -o OUT.npy LAYOUT_DIR",
		positional: true,
		flags: []flagSpec{
			{name: "o", kind: valueArg, usage: "output .npy: float32 [N,D] features, rows in embedding-reader's order (its .jsonl index beside it)"},
		},
		run: func(ctx context.Context, e *env, a *parsedArgs) error {
			out := a.str("o", "")
			if out == "" || len(a.positional) != 1 {
				return usagef("want -o OUT.npy and one layout folder")
			}
			rows, err := collection.Merge(a.positional[0], out)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "wrote %s (%d rows) and %s\n", out, rows, clip.IndexPath(out))
			return nil
		},
	}
}
