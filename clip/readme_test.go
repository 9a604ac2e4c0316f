package clip

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// TestReadmeSnippet: the README's "From Go" code is ExampleLoad's body (less
// its Output comment), so the snippet compiles and runs with every test run.
func TestReadmeSnippet(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "ExampleLoad" {
			body = string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		}
	}
	var want []string
	for _, line := range strings.Split(strings.Trim(body, "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "// Output:") {
			want = append(want, strings.TrimPrefix(line, "\t"))
		}
	}
	readme, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## From Go\n")
	_, block, ok2 := strings.Cut(section, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no ```go block under ## From Go")
	}
	if got := strings.TrimRight(block, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("README's From Go snippet:\n%s\n\ndiffers from ExampleLoad's body:\n%s", got, strings.Join(want, "\n"))
	}
}
