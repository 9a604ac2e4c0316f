//go:build !unix && cgo

package preprocess

import "time"

// processCPU is unavailable here; benchmarks then report wall-clock only.
func processCPU() time.Duration { return 0 }
