package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// eventLog is what the test's events handler saw: Caddy's events app
// calls it for the kratos events it subscribes it to.
var eventLog struct {
	sync.Mutex
	got []string // "name identity_id"
}

func init() { caddy.RegisterModule(eventRecorder{}) }

// eventRecorder is a Caddy events handler (events.handlers.*), as a site's
// own handler (exec, a plugin) would be.
type eventRecorder struct{}

func (eventRecorder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "events.handlers.kratos_test_recorder", New: func() caddy.Module { return new(eventRecorder) }}
}

func (eventRecorder) Handle(_ context.Context, e caddy.Event) error {
	eventLog.Lock()
	defer eventLog.Unlock()
	eventLog.got = append(eventLog.got, fmt.Sprintf("%s %v", e.Name(), e.Data["identity_id"]))
	return nil
}

// TestEventsThroughCaddy: Caddy's events app gets the kratos events, and a
// web hook, a real HTTP receiver, gets the ones it asked for as JSON,
// signed, without a trait value.
func TestEventsThroughCaddy(t *testing.T) {
	hooks := make(chan []byte, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(r.Header.Get("X-Kratos-Signature"), "sha256=") {
			body = []byte("unsigned")
		}
		hooks <- body
	}))
	t.Cleanup(receiver.Close)
	eventLog.Lock()
	eventLog.got = nil
	eventLog.Unlock()

	hook := fmt.Sprintf("webhook %s {\n\t\t\tevents kratos_identity_created kratos_identity_updated\n\t\t\tsecret s3cret\n\t\t\ttimeout 2s\n\t\t}", receiver.URL)
	s := startSitePatched(t, seedSchema, "store memory", hook, "", func(cfg map[string]any) {
		apps := cfg["apps"].(map[string]any)
		apps["events"] = map[string]any{"subscriptions": []any{map[string]any{
			"events":   []any{"kratos_identity_created", "kratos_login_succeeded", "kratos_identity_updated"},
			"handlers": []any{map[string]any{"handler": "kratos_test_recorder"}},
		}}}
	})
	email := fmt.Sprintf("events-%d@example.com", time.Now().UnixNano())
	token, reg := registerAPI(t, s, email, "a long enough secret")
	id := get(reg, "identity", "id").(string)
	wantStatus(t, loginBrowser(t, s, browser(t), email, "a long enough secret", ""), 303)
	f := do(t, browser(t), "GET", s.kratos()+"/self-service/settings/api", nil, "X-Session-Token", token).json(t)
	res := do(t, browser(t), "POST", get(f, "ui", "action").(string),
		fmt.Sprintf(`{"method":"profile","traits":{"email":%q,"name":{"first":"Grace","last":"Brewster"}}}`, email), "X-Session-Token", token)
	wantStatus(t, res, 200)

	eventLog.Lock()
	got := strings.Join(eventLog.got, "\n")
	eventLog.Unlock()
	want := strings.Join([]string{"kratos_identity_created " + id, "kratos_login_succeeded " + id, "kratos_identity_updated " + id}, "\n")
	if got != want {
		t.Errorf("Caddy events:\n%s\nwant\n%s", got, want)
	}

	for _, wantEvent := range []string{"kratos_identity_created", "kratos_identity_updated"} {
		select {
		case body := <-hooks:
			var b map[string]any
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatalf("hook body %q: %v", body, err)
			}
			if b["event"] != wantEvent || b["identity_id"] != id || strings.Contains(string(body), email) || strings.Contains(string(body), "Brewster") {
				t.Errorf("hook got %s, want %s", body, wantEvent)
			}
			if wantEvent == "kratos_identity_updated" && fmt.Sprint(b["changed"]) != "[traits.name.last]" {
				t.Errorf("changed: %v", b["changed"])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the hook got no %s", wantEvent)
		}
	}
}

// TestBlockingWebhookThroughCaddy: a blocking hook is asked before a
// registration is stored; its refusal is the flow's message and nothing is
// stored; its yes lets the registration through.
func TestBlockingWebhookThroughCaddy(t *testing.T) {
	var mu sync.Mutex
	refuseNext := true
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refuseNext {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"messages":[{"messages":[{"id":1,"text":"Sign-ups are closed today.","type":"error"}]}]}`))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)
	hook := fmt.Sprintf("webhook %s {\n\t\t\tevents kratos_identity_created\n\t\t\tblocking\n\t\t}", receiver.URL)
	s := startSiteMemory(t, hook)
	email := fmt.Sprintf("blocked-%d@example.com", time.Now().UnixNano())
	body := fmt.Sprintf(`{"method":"password","password":"a long enough secret","traits":{"email":%q}}`, email)

	res := registerJSON(t, s, body)
	wantStatus(t, res, http.StatusBadRequest)
	if got := get(res.json(t), "ui", "messages", 0, "text"); got != "Sign-ups are closed today." {
		t.Fatalf("refused registration: %s", res.body)
	}
	if adminHas(t, s, email) {
		t.Fatal("a refused registration was stored")
	}
	mu.Lock()
	refuseNext = false
	mu.Unlock()
	wantStatus(t, registerJSON(t, s, body), http.StatusOK)
	if !adminHas(t, s, email) {
		t.Fatal("an allowed registration was not stored")
	}
}
