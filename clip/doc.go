// Package clip runs OpenAI's CLIP from Go with outputs that match the
// official PyTorch implementation (github.com/openai/CLIP).
//
// A Model is a TorchScript artifact written by export/export.py from an
// official checkpoint, loaded through libtorch (package torch). Load takes
// one of the nine official model names (downloaded, verified and exported
// on first use) or an export directory. Models encode images and texts into
// the shared embedding space; the tokenizer (package tokenizer) and the
// image preprocessing (package preprocess) reproduce clip.tokenize and the
// official transform exactly, so EncodeTexts and EncodeImageFiles give the
// official features for strings and image files.
//
// On top of the model, the package offers zero-shot classification with
// prompt ensembles, ranking by cosine similarity, and a streaming folder
// embedding pipeline.
//
// Calls that can run long (Load, EncodeTexts, EncodeImages,
// EncodeImageFiles, NewClassifier, Tokenizer, Tokenize) take a
// context.Context and stop with its error between batches. Errors start
// with "clip: " once and wrap their cause: errors.Is matches both the
// package's sentinel (ErrInput, ErrVocab, ErrManifest, ...) and the cause
// (context.Canceled, fs.ErrNotExist, ...). Token ids are int32 throughout,
// as in the tokenizer package.
package clip
