//go:build cgo

package torch_test

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/goclip/goclip/torch"
)

// Load a TorchScript module and run one of its methods on Go memory.
func ExampleLoad() {
	m, err := torch.Load(filepath.Join("..", "testdata", "torch", "ops.pt"), torch.WithDevice(torch.Device{Type: torch.CPU}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	a, _ := torch.NewTensor([]float32{1, 2, 3}, 3)
	b, _ := torch.NewTensor([]float32{10, 20, 30}, 3)
	out, err := m.Run("add", a, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out[0].Shape, out[0].DType, out[0].Data)
	// Output: [3] float32 [11 22 33]
}

// Errors from libtorch come back from the call that caused them.
func ExampleModule_Run_error() {
	m, err := torch.Load(filepath.Join("..", "testdata", "torch", "ops.pt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	_, err = m.Run("no_such_method")
	var te *torch.Error
	if errors.As(err, &te) {
		fmt.Println(te.Op, te.Target, errors.Is(err, torch.ErrTorch))
	}
	// Output: run no_such_method true
}

func ExampleParseDevice() {
	for _, s := range []string{"cpu", "cuda:1", "tpu"} {
		d, err := torch.ParseDevice(s)
		fmt.Println(d, err)
	}
	// Output:
	// cpu <nil>
	// cuda:1 <nil>
	// cpu torch: invalid device "tpu": want cpu, cuda, cuda:N or auto
}
