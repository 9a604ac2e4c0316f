package parity_test

import (
	"fmt"

	"github.com/goclip/goclip/internal/parity"
)

// The tolerances of a CPU float32 check, two of them widened as by
// "clip parity --tol encode_image=1e-4,probs=1e-3".
func ExampleParseTolerances() {
	tol := parity.DefaultTolerances(false, false)
	if err := parity.ParseTolerances("encode_image=1e-4,probs=1e-3", tol); err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range parity.Stages {
		fmt.Printf("%-12s %s\n", s, tol[s])
	}
	// Output:
	// tokens       0 (exact)
	// pixels       0 (exact)
	// encode_image 0.0001 rel
	// encode_text  1e-05 rel
	// logits       1e-05 rel
	// probs        0.001 abs
}
