package npy_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/npy"
)

func Example() {
	dir, _ := os.MkdirTemp("", "npy-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "features.npy")
	if err := npy.WriteFile(path, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		fmt.Println(err)
		return
	}
	a, err := npy.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.DType, a.Shape, a.Data)
	// Output: <f4 [2 3] [1 2 3 4 5 6]
}
