package shard_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStartMatchesExample keeps README.md's quick start honest:
// the body of its main function must be the body of Example (which runs
// with its output checked), line for line.
func TestReadmeQuickStartMatchesExample(t *testing.T) {
	readme := mustRead(t, "../README.md")
	example := mustRead(t, "example_test.go")

	_, afterHeading, ok := strings.Cut(readme, "## Quick start")
	if !ok {
		t.Fatal("README.md has no \"## Quick start\" section")
	}
	quick := between(t, afterHeading, "func main() {\n", "\n}\n```", "README quick start")
	want := between(t, example, "func Example() {\n", "\t// Output:", "Example in example_test.go")
	if got, want := normalize(quick), normalize(want); got != want {
		t.Fatalf("README quick start and Example differ; copy Example's body into README.md.\nREADME:\n%s\nExample:\n%s", got, want)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func between(t *testing.T, s, start, end, what string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		t.Fatalf("%s: %q not found", what, start)
	}
	body, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("%s: %q not found", what, end)
	}
	return body
}

// normalize trims each line and drops blank ones, so indentation and
// spacing differences between a Markdown block and Go source do not count.
func normalize(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
