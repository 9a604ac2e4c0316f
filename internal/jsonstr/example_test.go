package jsonstr_test

import (
	"encoding/json"
	"fmt"

	"github.com/goclip/goclip/internal/jsonstr"
)

func ExampleAppendUnquote() {
	for _, line := range []string{`"caf\u00e9 \ud83d\ude00"`, `null`} {
		s, ok := jsonstr.AppendUnquote(nil, []byte(line))
		if !ok {
			// The rare rest: encoding/json decides.
			var v string
			err := json.Unmarshal([]byte(line), &v)
			fmt.Printf("%q %v\n", v, err)
			continue
		}
		fmt.Printf("%q\n", s)
	}
	// Output:
	// "café 😀"
	// "" <nil>
}
