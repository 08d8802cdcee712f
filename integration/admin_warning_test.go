package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestAdminWarningAtStart: an admin site that listens beyond loopback is
// warned of when Caddy starts, before any request, naming the listen
// address, and not again at the first request; one bound to loopback is not.
// A site address alone (http://127.0.0.1:<port>) listens on every interface.
func TestAdminWarningAtStart(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, []byte(seedSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bind string
		address    func(port int) string // the warned address; nil for none
	}{
		{"bind 0.0.0.0", "bind 0.0.0.0", func(p int) string { return fmt.Sprintf("0.0.0.0:%d", p) }},
		{"site address only", "", func(p int) string { return fmt.Sprintf(":%d", p) }},
		{"bind 127.0.0.1", "bind 127.0.0.1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "caddy.log")
			port := freePort(t)
			cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	grace_period 1ns
	log {
		output file %s
		format json
	}
}
http://127.0.0.1:%d {
	%s
	kratos {
		identity_schema %s
		store memory
		admin
	}
}
`, logPath, port, tc.bind, schemaPath)
			js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if err := caddy.Load(js, true); err != nil {
				t.Fatalf("load: %v", err)
			}
			t.Cleanup(func() { _ = caddy.Stop() })

			want := 0
			if tc.address != nil {
				want = 1
			}
			warned := adminWarnings(t, logPath)
			if len(warned) != want || (want == 1 && warned[0] != tc.address(port)) {
				t.Fatalf("warned of %v at start, want %d warning(s)", warned, want)
			}
			wantStatus(t, do(t, http.DefaultClient, "GET", fmt.Sprintf("http://127.0.0.1:%d/admin/identities", port), nil), http.StatusOK)
			if again := adminWarnings(t, logPath); len(again) != want {
				t.Fatalf("warned of %v after a request, want still %d", again, want)
			}
		})
	}
}

// adminWarnings reads Caddy's JSON log and returns the address of each
// warning that the admin API listens beyond loopback.
func adminWarnings(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var entry struct {
			Level, Logger, Msg, Address string
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if entry.Level == "warn" && strings.HasPrefix(entry.Msg, "the admin API listens beyond loopback") {
			out = append(out, entry.Address)
		}
	}
	return out
}
