package tokenizer_test

import (
	"fmt"
	"log"
	"os"

	"github.com/goclip/goclip/tokenizer"
)

// Clean shows the text the pre-tokenizer sees: mojibake repaired, entities
// decoded, whitespace collapsed, lowered.
func ExampleClean() {
	fmt.Printf("%q\n", tokenizer.Clean("  The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows &amp; that&#39;s  FINE. "))
	fmt.Printf("%q\n", tokenizer.Clean("ＦＵＬＬ　ＷＩＤＴＨ ΟΔΟΣ"))
	// Output:
	// "the mona lisa doesn't have eyebrows & that's fine."
	// "full width οδος"
}

// Tokenize gives clip.tokenize's rows; it needs the official merges file
// (here named by $CLIP_VOCAB).
func ExampleTokenizer_Tokenize() {
	tok, err := tokenizer.Load(os.Getenv("CLIP_VOCAB"))
	if err != nil {
		log.Fatal(err)
	}
	rows, err := tok.Tokenize([]string{"a photo of a cat", "a diagram"}, tokenizer.DefaultContextLength, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rows[0][:7])
	fmt.Println(tok.Decode([]int32{320, 1125, 539, 320, 2368}))
}
