package courier

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

func TestBuiltinTemplates(t *testing.T) {
	tpl, err := LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ, subject, code string
	}{
		{identity.TemplateVerificationCodeValid, "Please verify your email address", "123456"},
		{identity.TemplateVerificationCodeInvalid, "Someone tried to verify this email address", ""},
		{identity.TemplateRecoveryCodeValid, "Recover access to your account", "654321"},
		{identity.TemplateRecoveryCodeInvalid, "Account access attempted", ""},
		{identity.TemplateAddressChanged, "A verifiable address on your account was changed", ""},
		{identity.TemplateAddressChangeRequested, "A change of your account's address was requested", ""},
	} {
		m := &identity.Message{ID: identity.NewID(), Recipient: "ada@example.com", TemplateType: c.typ, TemplateData: map[string]any{
			"VerificationCode": "123456", "VerificationURL": "https://example.com/verify?code=123456&x=<b>", "RecoveryCode": "654321",
		}}
		r, err := tpl.Render(m)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if r.Subject != c.subject {
			t.Errorf("%s: subject %q, want %q", c.typ, r.Subject, c.subject)
		}
		if !strings.HasPrefix(r.Text, "Hi,\n") || !strings.Contains(r.HTML, "<p>Hi,</p>") {
			t.Errorf("%s: bodies do not greet:\n%s\n%s", c.typ, r.Text, r.HTML)
		}
		if c.code != "" && (!strings.Contains(r.Text, c.code) || !strings.Contains(r.HTML, c.code)) {
			t.Errorf("%s: the code %s is missing:\n%s\n%s", c.typ, c.code, r.Text, r.HTML)
		}
		if strings.Contains(r.Text+r.HTML, "no value") {
			t.Errorf("%s: a missing value shows:\n%s\n%s", c.typ, r.Text, r.HTML)
		}
	}
	// The HTML body escapes the values it shows.
	r, _ := tpl.Render(&identity.Message{Recipient: "a@example.com", TemplateType: identity.TemplateVerificationCodeValid,
		TemplateData: map[string]any{"VerificationCode": "1", "VerificationURL": "https://example.com/?x=<b>"}})
	if strings.Contains(r.HTML, "<b>") || !strings.Contains(r.Text, "https://example.com/?x=<b>") {
		t.Errorf("escaping: html %q, text %q", r.HTML, r.Text)
	}
}

func TestOverrideTemplates(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("recovery_code/valid/email.subject.gotmpl", "Your code for {{ .To }}\n")
	write("recovery_code/valid/email.body.plaintext.gotmpl", "Code: {{ .RecoveryCode }}")
	tpl, err := LoadTemplates(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(&identity.Message{Recipient: "ada@example.com", TemplateType: identity.TemplateRecoveryCodeValid, TemplateData: map[string]any{"RecoveryCode": "777777"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Your code for ada@example.com" || r.Text != "Code: 777777" || !strings.Contains(r.HTML, "<strong>777777</strong>") {
		t.Errorf("override: %+v (the HTML body should be the built-in one)", r)
	}

	write("verification_code/invalid/email.body.gotmpl", "<p>{{ .To </p>")
	_, err = LoadTemplates(dir, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "verification_code", "invalid", "email.body.gotmpl")) {
		t.Errorf("a broken override: %v; want an error naming the file", err)
	}
	if _, err := LoadTemplates(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing override directory loaded")
	}
}

// A mail is written in the language of the request that queued it.
func TestTemplatesInTheMessagesLanguage(t *testing.T) {
	tpl, err := LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string][2]string{
		"de": {"Zugang zu Ihrem Konto wiederherstellen", "Hallo,"},
		"en": {"Recover access to your account", "Hi,"},
		"":   {"Recover access to your account", "Hi,"},
		"fr": {"Recover access to your account", "Hi,"}, // not enabled: the default
	} {
		for range 2 { // the second render uses the cached copy
			r, err := tpl.Render(&identity.Message{ID: identity.NewID(), Recipient: "ada@example.com", Lang: lang,
				TemplateType: identity.TemplateRecoveryCodeValid, TemplateData: map[string]any{"RecoveryCode": "654321"}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != want[0] || !strings.HasPrefix(r.Text, want[1]) || !strings.Contains(r.HTML, want[1]) || !strings.Contains(r.Text, "654321") {
				t.Errorf("%q: %q\n%s\n%s", lang, r.Subject, r.Text, r.HTML)
			}
		}
	}
}
