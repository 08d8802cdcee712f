package integration

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/seed06f30684/caddy-kratos/caddymodule"
)

var updateAdapt = flag.Bool("update-adapt", false, "rewrite the expected JSON of testdata/*.caddyfiletest from the adapter's output")

// adaptSeparator is the line between a test file's Caddyfile and what
// adapting it should give.
var adaptSeparator = regexp.MustCompile(`(?m)^----------\r?$`)

// TestCaddyfileAdapt adapts every testdata/*.caddyfiletest file: a
// Caddyfile, a line of ten dashes, then the expected JSON, or, when that
// part is not JSON, a substring of the expected error.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.caddyfiletest files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			parts := adaptSeparator.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), 2)
			if len(parts) != 2 {
				t.Fatal("no line of ten dashes between the Caddyfile and the expectation")
			}
			caddyfile, expected := strings.TrimSpace(parts[0])+"\n", strings.TrimSpace(parts[1])

			if !strings.HasPrefix(expected, "{") {
				adaptMustFail(t, caddyfile, expected)
				return
			}
			if *updateAdapt {
				rewriteAdaptExpectation(t, file, caddyfile)
				return
			}
			if !caddytest.CompareAdapt(t, file, caddyfile, "caddyfile", expected) {
				t.Error("adapted JSON differs from the expectation (diff above)")
			}
			if _, warnings := adaptCaddyfile(t, caddyfile); len(warnings) > 0 {
				t.Errorf("adapting gave warnings: %+v", warnings)
			}
		})
	}
}

// adaptCaddyfile adapts a Caddyfile that must be valid.
func adaptCaddyfile(t *testing.T, caddyfile string) ([]byte, []caddyconfig.Warning) {
	t.Helper()
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	return out, warnings
}

// adaptMustFail checks that adapting fails with an error containing want.
func adaptMustFail(t *testing.T, caddyfile, want string) {
	t.Helper()
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err == nil {
		t.Fatalf("adapting succeeded, want an error containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}

// rewriteAdaptExpectation replaces the expected JSON of file with the adapter's output.
func rewriteAdaptExpectation(t *testing.T, file, caddyfile string) {
	t.Helper()
	out, _ := adaptCaddyfile(t, caddyfile)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	content := caddyfile + "----------\n" + pretty.String() + "\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
