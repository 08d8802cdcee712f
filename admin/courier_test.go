package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/courier"
	"github.com/seed06f30684/caddy-kratos/identity"
)

// queueMessages queues n recovery mails and returns them, oldest first.
func (e *adminEnv) queueMessages(n int) []*identity.Message {
	e.t.Helper()
	var out []*identity.Message
	for i := range n {
		m := &identity.Message{Recipient: "ada@example.com", TemplateType: identity.TemplateRecoveryCodeValid, TemplateData: map[string]any{"RecoveryCode": "12345" + string(rune('0'+i))}}
		if err := e.store.QueueMessage(e.t.Context(), m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
		e.clock.Add(time.Second)
	}
	return out
}

func decodeMessages(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("not a JSON array: %s", body)
	}
	return out
}

func TestAdminCourierMessages(t *testing.T) {
	e := newAdminEnv(t)
	ms := e.queueMessages(3)
	if _, err := e.store.ClaimMessages(t.Context(), "w", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SettleMessage(t.Context(), ms[0].ID, identity.Delivery{Status: identity.MessageSent, Subject: "Recover access to your account"}); err != nil {
		t.Fatal(err)
	}

	// Two to a page, newest first, with Link and X-Total-Count.
	res := e.admin(http.MethodGet, "/admin/courier/messages?page_size=2", nil)
	if res.Code != http.StatusOK || res.Header().Get("X-Total-Count") != "3" {
		t.Fatalf("list: %d, X-Total-Count %q: %s", res.Code, res.Header().Get("X-Total-Count"), res.Body)
	}
	page := decodeMessages(t, res.Body.Bytes())
	if len(page) != 2 || page[0]["id"] != ms[2].ID || page[1]["id"] != ms[1].ID {
		t.Fatalf("first page: %v", page)
	}
	for _, m := range page {
		if m["body"] != "<redacted-unless-dev-mode>" || m["type"] != "email" || m["status"] != "queued" || m["dispatches"] != nil || m["template_data"] != nil {
			t.Errorf("listed message: %v", m)
		}
	}
	next, err := url.Parse(links(t, res.Header())["next"])
	if err != nil {
		t.Fatal(err)
	}
	res = e.admin(http.MethodGet, next.RequestURI(), nil)
	if page := decodeMessages(t, res.Body.Bytes()); len(page) != 1 || page[0]["id"] != ms[0].ID || page[0]["status"] != "sent" {
		t.Fatalf("second page: %s", res.Body)
	}
	if _, ok := links(t, res.Header())["next"]; ok {
		t.Error("the last page links a next one")
	}

	res = e.admin(http.MethodGet, "/admin/courier/messages?status=sent", nil)
	if page := decodeMessages(t, res.Body.Bytes()); len(page) != 1 || res.Header().Get("X-Total-Count") != "1" {
		t.Errorf("status=sent: %s", res.Body)
	}

	for target, reason := range map[string]string{
		"/admin/courier/messages?status=lost":       "Message status is not valid",
		"/admin/courier/messages?page_token=forged": "The page token is invalid, do not craft your own page tokens",
		"/admin/courier/messages?page_size=0":       "page_size",
		"/admin/courier/messages/not-a-uuid":        "not a UUID",
	} {
		res := e.admin(http.MethodGet, target, nil)
		if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), reason) {
			t.Errorf("GET %s: %d %s; want 400 with %q", target, res.Code, res.Body, reason)
		}
	}

	res = e.admin(http.MethodGet, "/admin/courier/messages/"+ms[0].ID, nil)
	var one map[string]any
	if err := json.Unmarshal(res.Body.Bytes(), &one); err != nil || res.Code != http.StatusOK {
		t.Fatalf("get: %d %s", res.Code, res.Body)
	}
	ds, _ := one["dispatches"].([]any)
	if one["subject"] != "Recover access to your account" || one["body"] != "<redacted-unless-dev-mode>" || len(ds) != 1 {
		t.Errorf("get: %v", one)
	}
	if res := e.admin(http.MethodGet, "/admin/courier/messages/"+identity.NewID(), nil); res.Code != http.StatusNotFound {
		t.Errorf("unknown id: %d", res.Code)
	}
	if res := e.admin(http.MethodGet, "/mailbox", nil); res.Code != http.StatusNotFound {
		t.Errorf("/mailbox without a mailbox: %d", res.Code)
	}
}

func TestAdminMailbox(t *testing.T) {
	e := newAdminEnv(t)
	box := courier.NewMailbox(e.clock.Now)
	e.api = New(e.s, WithMailbox(func() *courier.Mailbox { return box }))
	m := e.queueMessages(1)[0]
	if err := box.Send(t.Context(), courier.Mail{MessageID: m.ID, TemplateType: m.TemplateType, To: m.Recipient,
		Rendered: courier.Rendered{Subject: "Recover access to your account", Text: "Hi,\n\n<123450>\n"}}); err != nil {
		t.Fatal(err)
	}
	res := e.admin(http.MethodGet, "/admin/courier/messages/"+m.ID, nil)
	if !strings.Contains(res.Body.String(), `"body":"Hi,\n\n<123450>\n"`) {
		t.Errorf("with the mailbox the body shows: %s", res.Body)
	}
	res = e.admin(http.MethodGet, "/mailbox", nil)
	body := res.Body.String()
	if res.Code != http.StatusOK || !strings.HasPrefix(res.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Recover access to your account") || !strings.Contains(body, "&lt;123450&gt;") || !strings.Contains(body, m.ID) {
		t.Errorf("/mailbox: %d %s", res.Code, body)
	}
	if res := e.admin(http.MethodGet, "/admin/mailbox", nil); res.Code != http.StatusNotFound {
		t.Errorf("/admin/mailbox: %d; the page is only at /mailbox", res.Code)
	}
}
