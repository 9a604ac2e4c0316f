package preprocess

import "context"

// BatchBytesU8 is BatchFilesU8 for images held in memory: the resized,
// cropped RGB bytes of each image into a contiguous [N,n,n,3] buffer.
func (p *Preprocessor) BatchBytesU8(ctx context.Context, images [][]byte, dst []uint8) []error {
	return p.runBatch(ctx, len(images), func(i int) ([]byte, error) { return images[i], nil }, batchU8, nil, nil, dst)
}
