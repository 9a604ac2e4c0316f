package preprocess

import (
	"fmt"

	"github.com/goclip/goclip/npy"
)

// DetectFormat names the image format of data from its first bytes (the
// way Pillow's plugins recognise files), or "" if it is none this package
// decodes.
func DetectFormat(data []byte) Format { return sniff(data) }

// WriteTensorsNPY writes a batch of preprocessed images, a contiguous
// [N,3,n,n] float32 buffer as filled by BatchFiles, to a .npy file at path.
func WriteTensorsNPY(path string, n int, data []float32) error {
	count, err := batchCount(n, len(data))
	if err != nil {
		return err
	}
	return npy.WriteFile(path, []int{count, 3, n, n}, data)
}

// WriteU8NPY writes a batch of resized, cropped RGB images, a contiguous
// [N,n,n,3] uint8 buffer as filled by BatchFilesU8, to a .npy file at path.
func WriteU8NPY(path string, n int, data []uint8) error {
	count, err := batchCount(n, len(data))
	if err != nil {
		return err
	}
	return npy.WriteFile(path, []int{count, n, n, 3}, data)
}

func batchCount(n, length int) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("%w: image size %d", ErrBadSize, n)
	}
	per := 3 * n * n
	if length%per != 0 {
		return 0, fmt.Errorf("%w: %d values is not a whole number of %dx%d images", ErrBadSize, length, n, n)
	}
	return length / per, nil
}
