package parity_test

import (
	"fmt"

	"github.com/goclip/goclip/internal/parity"
)

// The defaults on a CUDA fp16 run, with two --tol values on top.
func ExampleParseTolerances() {
	tol := parity.DefaultTolerances("cuda:0", "fp16")
	if err := parity.ParseTolerances(tol, []string{"2e-2", "pixels=1e-7"}); err != nil {
		fmt.Println(err)
	}
	for _, s := range parity.Stages {
		fmt.Println(s, parity.FormatTol(tol[s]))
	}
	// Output:
	// tokens exact
	// pixels 1e-07
	// encode_image 2e-02
	// encode_text 2e-02
	// logits 2e-02
	// probs 2e-02
}
