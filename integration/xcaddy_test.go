package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	xcaddyOurModule   = "github.com/seed06f30684/caddy-kratos"
	xcaddyCaddyModule = "github.com/caddyserver/caddy/v2"
	xcaddyKratosID    = "http.handlers.kratos"
)

// xcaddyMainGo is the main.go that xcaddy generates for
// `xcaddy build --with github.com/seed06f30684/caddy-kratos/caddymodule`.
const xcaddyMainGo = `package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/seed06f30684/caddy-kratos/caddymodule"
)

func main() {
	caddycmd.Main()
}
`

// TestXcaddyStyleBuild builds Caddy the way xcaddy does with a local
// checkout (`--with .../caddymodule --replace github.com/seed06f30684/caddy-kratos=<repo>`):
// a throwaway main module outside the repository, Caddy pinned to the
// version in the repository's go.mod, and a replace to the checkout. The
// binary must list http.handlers.kratos. Nothing is written into the
// repository; the only network used is the Go module proxy (and only for
// what the shared module cache lacks).
func TestXcaddyStyleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Caddy binary; skipped with -short")
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		t.Fatalf("repository root %s has no go.mod: %v", repo, err)
	}

	// The repository's go directive and its Caddy version: the same ones
	// for the throwaway module, so the build is of what the repo tests.
	// `go list -m` only reads the repository's go.mod.
	goVersion := strings.TrimSpace(xcaddyRun(t, repo, "-mod=readonly", goBin, "list", "-m", "-f", "{{.GoVersion}}"))
	caddyVersion := strings.TrimSpace(xcaddyRun(t, repo, "-mod=readonly", goBin, "list", "-m", "-f", "{{.Version}}", xcaddyCaddyModule))
	if goVersion == "" || !strings.HasPrefix(caddyVersion, "v2.") {
		t.Fatalf("unexpected go directive %q or Caddy version %q in %s/go.mod", goVersion, caddyVersion, repo)
	}

	dir := t.TempDir()
	goMod := fmt.Sprintf(`module caddy

go %s

require (
	%s %s
	%s v0.0.0
)

replace %s => %s
`, goVersion, xcaddyCaddyModule, caddyVersion, xcaddyOurModule, xcaddyOurModule, xcaddyModPath(repo))
	xcaddyWriteFile(t, filepath.Join(dir, "go.mod"), goMod)
	xcaddyWriteFile(t, filepath.Join(dir, "main.go"), xcaddyMainGo)
	// Start from the repository's checksums so tidy finds almost
	// everything in the module cache without asking anyone.
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	xcaddyWriteFile(t, filepath.Join(dir, "go.sum"), string(sum))

	xcaddyRun(t, dir, "-mod=mod", goBin, "mod", "tidy")

	// The resolved graph is the one asked for: Caddy at the repository's
	// version (not raised by anything), our module from the checkout.
	if got := strings.TrimSpace(xcaddyRun(t, dir, "-mod=mod", goBin, "list", "-m", "-f", "{{.Version}}", xcaddyCaddyModule)); got != caddyVersion {
		t.Errorf("Caddy resolved to %s in the xcaddy-style module, want %s (the repository's)", got, caddyVersion)
	}
	if got := strings.TrimSpace(xcaddyRun(t, dir, "-mod=mod", goBin, "list", "-m", "-f", "{{if .Replace}}{{.Replace.Dir}}{{end}}", xcaddyOurModule)); got != repo {
		t.Errorf("%s is replaced by %q, want the checkout %q", xcaddyOurModule, got, repo)
	}

	bin := filepath.Join(dir, "caddy")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	xcaddyRun(t, dir, "-mod=mod", goBin, "build", "-o", bin, ".")

	modules := xcaddyRun(t, dir, "", bin, "list-modules", "--packages")
	found := false
	for _, line := range strings.Split(modules, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == xcaddyKratosID {
			found = true
			// "<id> <module> => <replacement>": the module of the
			// package that registered it, taken from the checkout.
			want := []string{xcaddyKratosID, xcaddyOurModule, "=>", repo}
			if strings.Join(fields, " ") != strings.Join(want, " ") {
				t.Errorf("caddy list-modules --packages: got %q, want %q (our module, replaced by the checkout)", line, strings.Join(want, " "))
			}
		}
	}
	if !found {
		t.Errorf("caddy list-modules --packages does not list %s; output:\n%s", xcaddyKratosID, modules)
	}

	version := strings.TrimSpace(xcaddyRun(t, dir, "", bin, "version"))
	if !strings.HasPrefix(version, caddyVersion) {
		t.Errorf("caddy version = %q, want it to start with %s", version, caddyVersion)
	}
}

// xcaddyRun runs name args in dir with a 5-minute limit (less if the test's
// own deadline is nearer) and returns its stdout; on failure the test stops
// with the command's output. GOFLAGS is replaced by goflags (-mod=readonly
// in the repository, so its go.mod is never written; -mod=mod in the
// throwaway module) and workspaces are off, so a go.work or GOFLAGS around
// the repository cannot change which go.mod is used.
func xcaddyRun(t *testing.T, dir, goflags, name string, args ...string) string {
	t.Helper()
	timeout := 5 * time.Minute
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 10*time.Second; left < timeout {
			timeout = max(left, time.Second)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+goflags, "GOWORK=off")
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (in %s): %s", filepath.Base(name), strings.Join(args, " "), dir, time.Since(start).Round(time.Millisecond))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		t.Fatalf("%s %s in %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// xcaddyModPath quotes a directory for go.mod when it would not survive as
// a bare token (a checkout under a path with spaces, say).
func xcaddyModPath(dir string) string {
	if dir == "" || strings.ContainsAny(dir, " \t\r\n\"'`") || strings.Contains(dir, "//") || strings.Contains(dir, "/*") {
		return strconv.Quote(dir)
	}
	return dir
}

func xcaddyWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
