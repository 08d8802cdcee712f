package locale

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/text"
)

func mustLoad(t *testing.T, o Options) *Catalog {
	t.Helper()
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPick(t *testing.T) {
	c := mustLoad(t, Options{})
	for header, want := range map[string]string{
		"de-DE,de;q=0.9,en;q=0.8": "de",
		"de-AT":                   "de",
		"en-GB,en;q=0.9":          "en",
		"fr-FR,fr;q=0.9":          "en", // not enabled: the default
		"fr;q=0.9,de;q=0.5":       "de",
		"":                        "en",
		"not a header ,,;q=x":     "en",
	} {
		if got := c.Pick(header).Tag(); !strings.HasPrefix(got, want) {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
	if got := mustLoad(t, Options{Default: "de"}).Pick("fr").Tag(); got != "de" {
		t.Errorf("default de: %s", got)
	}
	if got := mustLoad(t, Options{Enabled: []string{"en"}}).Pick("de").Tag(); got != "en" {
		t.Errorf("German not enabled: %s", got)
	}
}

func TestMessages(t *testing.T) {
	c := mustLoad(t, Options{})
	en, de := c.Get("en"), c.Get("de")
	minLen := text.Message{ID: text.ErrorValidationMinLength, Text: "length must be >= 5, but got 2",
		Context: map[string]any{"min_length": float64(5), "actual_length": float64(2)}}
	email := text.Message{ID: text.ErrorValidationInvalidFormat, Text: `"x" is not valid "email"`,
		Context: map[string]any{"reason": `"x" is not valid "email"`}}
	for _, tc := range []struct {
		lang *Lang
		m    text.Message
		want string
	}{
		{en, minLen, "At least 5 characters."},
		{de, minLen, "Mindestens 5 Zeichen."},
		{en, email, "Enter a valid email address."},
		{de, email, "Bitte geben Sie eine gültige E-Mail-Adresse ein."},
		{en, text.TooManyAttempts(0), "Too many failed attempts. Please try again in 1 minutes."},
		{en, text.NodeLabel("E-Mail"), "E-Mail"},
		{de, text.NodeLabel("E-Mail"), "E-Mail"},
		{de, text.SettingsSaved(), "Ihre Änderungen wurden gespeichert."},
		// No text of ours: the message's own.
		{de, text.Generic("something only the validator knows"), "something only the validator knows"},
	} {
		if got := tc.lang.Text(tc.m, ""); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.lang.Tag(), tc.m.ID, got, tc.want)
		}
	}
	// The input type names the format when the reason does not.
	bare := text.Message{ID: text.ErrorValidationInvalidFormat, Context: map[string]any{}}
	if got := en.Text(bare, "tel"); !strings.Contains(got, "phone number") {
		t.Errorf("tel: %q", got)
	}
}

// Every built-in language has exactly English's keys, with English's
// placeholders, and English has a text for every message id we send.
func TestBuiltinComplete(t *testing.T) {
	english, err := readBuiltin("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Builtin {
		f, err := readBuiltin(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(f, english, name); err != nil {
			t.Error(err)
		}
		for k := range english.Messages {
			if _, ok := f.Messages[k]; !ok {
				t.Errorf("%s.json lacks message %s", name, k)
			}
		}
		for k := range english.Strings {
			if _, ok := f.Strings[k]; !ok {
				t.Errorf("%s.json lacks string %s", name, k)
			}
		}
	}
	src, err := os.ReadFile(filepath.Join("..", "text", "id.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`ID = (\d{7})`).FindAllStringSubmatch(string(src), -1) {
		if m[1] == "4000001" {
			continue // the generic id: its variants, else the reason itself
		}
		if _, ok := english.Messages[m[1]]; !ok {
			t.Errorf("en.json has no text for message %s (text/id.go)", m[1])
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSiteTranslations(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "de.json", `{"messages": {"4000003": "Bitte mindestens {min_length} Zeichen."}}`)
	writeFile(t, dir, "fr.json", `{"messages": {"4000003": "Au moins {min_length} caractères."}}`)
	c := mustLoad(t, Options{Enabled: []string{"en", "de", "fr"}, Dir: dir})
	m := text.Message{ID: text.ErrorValidationMinLength, Context: map[string]any{"min_length": 8}}
	for lang, want := range map[string]string{
		"de": "Bitte mindestens 8 Zeichen.", // overridden
		"fr": "Au moins 8 caractères.",      // added
		"en": "At least 8 characters.",
	} {
		if got := c.Pick(lang).Text(m, ""); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	// What the site's French lacks comes in English; German keeps the rest
	// of its built-in texts.
	if got := c.Pick("fr").Text(text.SettingsSaved(), ""); got != "Your changes have been saved!" {
		t.Errorf("fr fallback: %q", got)
	}
	if got := c.Pick("de").Text(text.SettingsSaved(), ""); got != "Ihre Änderungen wurden gespeichert." {
		t.Errorf("de built-in: %q", got)
	}
}

func TestSiteTranslationErrors(t *testing.T) {
	for _, tc := range []struct{ name, content, enabled, says string }{
		{"unknown key", `{"messages": {"4999999": "x"}}`, "de", `de.json: messages key "4999999" is not one we have`},
		{"placeholder", `{"messages": {"4000003": "Mindestens {min_lenght} Zeichen"}}`, "de", `uses {min_lenght}, which this text does not have`},
		{"not JSON", `{"messages": `, "de", "de.json: unexpected EOF"},
		{"unknown member", `{"message": {}}`, "de", `unknown field "message"`},
		{"no translations", ``, "fr", `language "fr" is enabled but has no translations`},
		{"bad tag", ``, "not a language!", `is not a language tag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.content != "" {
				writeFile(t, dir, tc.enabled+".json", tc.content)
			}
			_, err := Load(Options{Enabled: []string{"en", tc.enabled}, Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want one saying %s", err, tc.says)
			}
			if tc.content != "" && !strings.Contains(err.Error(), filepath.Join(dir, tc.enabled+".json")) {
				t.Errorf("the error does not name the file: %v", err)
			}
		})
	}
}

// Kratos reports a value of the wrong format under the generic id; people
// read the format's message.
func TestGenericFormatReason(t *testing.T) {
	en := mustLoad(t, Options{}).Get("en")
	if got := en.Text(text.Generic(`"kein-email" is not valid "email"`), "email"); got != "Enter a valid email address." {
		t.Errorf("%q", got)
	}
}
