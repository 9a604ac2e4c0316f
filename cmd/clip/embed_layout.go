package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goclip/goclip/collection"
)

// layoutFlags are embed's flags for collections (--input ... --layout
// clip-retrieval).
var layoutFlags = []flagSpec{
	{name: "input", kind: valueArg, usage: "input: a folder (x.jpg with optional x.txt caption and x.json metadata) or WebDataset tars 'shards/{00000..00999}.tar'"},
	{name: "layout", kind: valueArg, usage: "with --input: output layout, clip-retrieval (-o is then a folder)"},
	{name: "shard-count", kind: valueArg, usage: "with --shard auto under a Kubernetes Indexed Job: the number of tasks (else $CLIP_SHARD_COUNT)"},
	{name: "dtype", kind: valueArg, usage: "with --layout: f32 (default, the raw features) or f16"},
	{name: "normalize", kind: boolArg, usage: "with --layout: L2-normalise the embeddings (clip-retrieval does, with --dtype f16)"},
	{name: "write-batch-size", kind: valueArg, usage: "with --layout and a folder: files per output partition (default 100000)"},
}

// isLayoutEmbed reports whether the command line asks for a collection.
func isLayoutEmbed(a *parsedArgs) bool {
	for _, f := range layoutFlags {
		if len(a.values[f.name]) > 0 || a.bools[f.name] {
			return true
		}
	}
	return false
}

// runEmbedLayout embeds a folder or tar set into a clip-retrieval layout.
func runEmbedLayout(ctx context.Context, e *env, a *parsedArgs, out string) error {
	spec, layout := a.str("input", ""), a.str("layout", "")
	if spec == "" || layout == "" {
		return usagef("collections need --input SPEC and --layout clip-retrieval")
	}
	if layout != "clip-retrieval" {
		return usagef("--layout %q: the only layout is clip-retrieval", layout)
	}
	for _, k := range []string{"pixels-npy", "tokens-npy", "image", "text", "images-dir"} {
		if len(a.values[k]) > 0 {
			return usagef("--input does not go with --%s", k)
		}
	}
	if a.bools["logits"] || a.bools["no-resume"] {
		return usagef("--input does not go with --logits or --no-resume (finished partitions are kept; delete the folder to start over)")
	}
	dtype, err := collection.ParseDType(a.str("dtype", "f32"))
	if err != nil {
		return usagef("%v", err)
	}
	wbs, err := a.integer("write-batch-size", collection.DefaultWriteBatchSize)
	if err != nil {
		return err
	}
	if wbs < 1 {
		return usagef("--write-batch-size must be positive")
	}
	count, err := a.integer("shard-count", 0)
	if err != nil {
		return err
	}
	var shard collection.Shard
	switch s := a.str("shard", ""); s {
	case "":
		shard = collection.All
	case "auto":
		if shard, err = collection.AutoShard(count, nil); err != nil {
			return usagef("--shard auto: %v", err)
		}
	default:
		if shard, err = collection.ParseShard(s); err != nil {
			return usagef("--shard: %v", err)
		}
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	opt := collection.Options{
		Input: spec, Out: out, Shard: shard, DType: dtype, Normalize: a.bools["normalize"], WriteBatchSize: wbs,
		OnError: func(err error) { fmt.Fprintf(e.stderr, "clip embed: skipped %v\n", err) },
		OnPartition: func(r collection.PartitionResult) {
			if r.Skipped {
				fmt.Fprintf(e.stderr, "partition %s: complete already, skipped\n", r.Name)
				return
			}
			fmt.Fprintf(e.stderr, "partition %s: %d samples (%d skipped) in %.1fs\n", r.Name, r.Stats.SampleCount, r.Stats.FailedCount, r.Stats.TotalDuration)
		},
	}
	sum, err := collection.Embed(ctx, m, opt)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: 130, msg: "interrupted; run the same command again to finish (complete partitions are kept)"}
		}
		return err
	}
	rate := float64(sum.Samples) / max(sum.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(e.stderr, "shard %s: %d of %d partitions written, %d complete already; %d samples (%d skipped) in %s, %.1f samples/s\n",
		shard, sum.Done, sum.Partitions, sum.Skipped, sum.Samples, sum.Failed, sum.Elapsed.Round(time.Millisecond), rate)
	return nil
}
