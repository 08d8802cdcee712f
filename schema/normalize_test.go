package schema

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/seed06f30684/caddy-kratos/text"
)

func TestNormalizeIdentifier(t *testing.T) {
	const refused = "\x00refused" // want an *IdentifierError
	tests := []struct {
		name, in, format, want string
		reason                 string // a part of the refusal's reason
	}{
		// Plain ASCII: lower-cased, as before normalisation.
		{"ascii email", "alice@example.com", "email", "alice@example.com", ""},
		{"ascii email, upper case", "Alice@Example.COM", "email", "alice@example.com", ""},
		{"ascii email, surrounding space", "  ALICE@example.com\t", "email", "alice@example.com", ""},
		{"ascii username", "Alice_99", "", "alice_99", ""},
		{"ascii username, punctuation", "A.B-C+D!#$%&'*/=?^`{|}~", "", "a.b-c+d!#$%&'*/=?^`{|}~", ""},

		// The look-alikes of issue #9.
		{"fullwidth a", "ａlice@example.com", "email", "alice@example.com", ""},
		{"fullwidth everything", "ＡＬＩＣＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "email", "alice@example.com", ""},
		{"fullwidth username", "ａｌｉｃｅ", "", "alice", ""},
		{"zero-width space", "ali\u200bce@example.com", "email", refused, "invisible character (U+200B)"},
		{"zero-width space, username", "ali\u200bce", "", refused, "U+200B"},
		{"byte order mark", "\ufeffalice@example.com", "email", refused, "U+FEFF"},
		{"word joiner", "alice\u2060@example.com", "email", refused, "U+2060"},
		{"zero-width joiner", "ali\u200dce", "", refused, "U+200D"},
		{"soft hyphen", "ali\u00adce", "", refused, "U+00AD"},
		{"combining dot above after i", "ali\u0307ce@example.com", "email", refused, "combining mark (U+0307)"},
		{"combining dot below after c", "alic\u0323e", "", refused, "U+0323"},
		{"combining grapheme joiner", "ali\u034fce", "", refused, "U+034F"},
		{"variation selector", "alice\ufe0f", "", refused, "U+FE0F"},
		{"combining dot above after a composes", "a\u0307lice", "", "\u0227lice", ""}, // ȧ is a letter of its own

		// Unicode case and composition.
		{"NFD é", "cafe\u0301@example.com", "email", "caf\u00e9@example.com", ""},
		{"NFC é", "caf\u00e9@example.com", "email", "caf\u00e9@example.com", ""},
		{"NFD É", "CAFE\u0301", "", "caf\u00e9", ""},
		{"sharp s stays", "Straße", "", "straße", ""},
		{"capital sharp s", "STRAẞE", "", "straße", ""},
		{"ss is not ß", "STRASSE", "", "strasse", ""},
		{"dotless i stays", "alıce", "", "alıce", ""},
		{"capital dotless I is I", "ALICE", "", "alice", ""},
		{"dotted capital I is i", "ALİCE@example.com", "email", "alice@example.com", ""},
		{"I with combining dot composes to İ", "ALI\u0307CE", "", "alice", ""},
		{"greek capital sigma", "ΣΊΣΥΦΟΣ", "", "σίσυφοσ", ""},
		{"greek final sigma stays", "σίσυφος", "", "σίσυφος", ""},
		{"greek mixed", "Σίσυφος", "", "σίσυφος", ""},
		{"devanagari vowel sign", "अनुज", "", "अनुज", ""},
		{"cyrillic", "Иван", "", "иван", ""},
		{"halfwidth katakana", "ｶﾞｸ", "", "ガク", ""},
		{"bidi rule", "1שלום", "", refused, "right-to-left"},
		{"katakana middle dot out of context", "a\u30fbb", "", refused, "U+30FB"},

		// Email specifics.
		{"unicode domain", "alice@BÜCHER.de", "email", "alice@bücher.de", ""},
		{"domain NFKC", "alice@ℌello.com", "email", "alice@hello.com", ""},
		{"local part refuses compatibility letters", "ℌello@example.com", "email", refused, "U+210C"},
		{"space in local part", "ali ce@example.com", "email", refused, "space"},
		{"no @", "alice.example.com", "email", refused, "not an email address"},
		{"empty domain", "alice@", "email", refused, "not an email address"},
		{"symbol", "♥@example.com", "email", refused, "U+2665"},

		// Usernames with spaces: one space between parts.
		{"spaces collapse", "  John   Smith ", "", "john smith", ""},
		{"no-break space", "john\u00a0smith", "", "john smith", ""},
		{"ideographic space", "john\u3000smith", "", "john smith", ""},
		{"tab", "john\tsmith", "", "john smith", ""}, // white space, not a control inside a part
		{"control", "john\x07smith", "", refused, "control character (U+0007)"},
		{"only spaces", "   ", "", "", ""},

		// Phone numbers: E.164.
		{"tel e164", "+12025550143", "tel", "+12025550143", ""},
		{"tel dashes", "+1 202-555-0143", "tel", "+12025550143", ""},
		{"tel brackets", "+1 (202) 555 0143", "tel", "+12025550143", ""},
		{"tel dots", "+1.202.555.0143", "tel", "+12025550143", ""},
		{"tel uri", "tel:+1-202-555-0143", "tel", "+12025550143", ""},
		{"tel fullwidth", "＋１ ２０２ ５５５ ０１４３", "tel", "+12025550143", ""},
		{"tel national trunk prefix", "+49 (0)30 1234567", "tel", "+49301234567", ""},
		{"tel german", "+49 30 1234567", "tel", "+49301234567", ""},
		{"tel without country code", "202-555-0143", "tel", refused, "international format"},
		{"tel 00 prefix", "0049 30 1234567", "tel", refused, "international format"},
		{"tel letters", "call me", "tel", refused, "international format"},
		{"tel extension", "+1 202 555 0143 ext. 12", "tel", refused, "extension"},
		{"tel too short", "+1 202 555 014", "tel", refused, "not a valid phone number"},
		{"tel trunk prefix after the country code", "+1 1 10000000000", "tel", refused, "not a valid phone number"},
		{"tel unassigned range", "+49 12345678", "tel", refused, "not a valid phone number"},
		{"tel zero-width space", "+1 202\u200b555 0143", "tel", refused, "U+200B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeIdentifier(tt.in, tt.format)
			if tt.want == refused {
				var ie *IdentifierError
				if !errors.As(err, &ie) {
					t.Fatalf("NormalizeIdentifier(%q, %q) = %q, %v; want an *IdentifierError", tt.in, tt.format, got, err)
				}
				if !strings.Contains(ie.Reason, tt.reason) {
					t.Errorf("reason %q does not say %q", ie.Reason, tt.reason)
				}
				if got != "" {
					t.Errorf("refused, but returned %q", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeIdentifier(%q, %q) = %q, %v; want %q", tt.in, tt.format, got, err, tt.want)
			}
			// A normal form is its own normal form, and the stores'
			// lower-casing leaves it alone.
			if again, err := NormalizeIdentifier(got, tt.format); err != nil || again != got {
				t.Errorf("not idempotent: %q -> %q, %v", got, again, err)
			}
			if l := strings.ToLower(got); l != got {
				t.Errorf("strings.ToLower changes the normal form %q to %q", got, l)
			}
		})
	}
}

// Identifiers stored before normalisation were strings.ToLower of the
// value. For printable ASCII without spaces the normal form is the same,
// so those identities still sign in; a fixed seed keeps the test stable.
func TestNormalizeIdentifierASCIIIsToLower(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x21 + rng.IntN(0x7e-0x21+1)) // '!' .. '~'
		}
		return string(b)
	}
	for range 5000 {
		v := random(1 + rng.IntN(20))
		if got, err := NormalizeIdentifier(v, ""); err != nil || got != strings.ToLower(v) {
			t.Fatalf("username %q: %q, %v; want %q", v, got, err, strings.ToLower(v))
		}
		e := strings.ReplaceAll(random(1+rng.IntN(10)), "@", "a") + "@" + strings.ReplaceAll(random(1+rng.IntN(10)), "@", "a")
		if got, err := NormalizeIdentifier(e, "email"); err != nil || got != strings.ToLower(e) {
			t.Fatalf("email %q: %q, %v; want %q", e, got, err, strings.ToLower(e))
		}
	}
}

const normalizeTestSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}
        },
        "phone": {
          "type": "string", "format": "tel",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "sms"}}
        },
        "username": {
          "type": "string",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
        },
        "aliases": {
          "type": "array",
          "items": {"type": "string", "format": "email", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}
        },
        "fax": {"type": "string", "format": "tel"}
      }
    }
  }
}`

func TestIdentifiersNormalised(t *testing.T) {
	s := inlineSchema(t, normalizeTestSchema)
	traits := decode(t, `{"email":"ＡLICE@Example.com","phone":"+1 (202) 555-0143","username":"  Alice   Liddell ",
		"aliases":["alice@example.com","cafe\u0301@example.com","ali\u200bce@example.com"]}`)
	want := []string{"+12025550143", "alice liddell", "alice@example.com", "café@example.com"}
	if got := s.Identifiers(traits); !reflect.DeepEqual(got, want) {
		t.Errorf("Identifiers = %q, want %q (the refused alias left out)", got, want)
	}
	verifiable, _ := s.Addresses(traits)
	wantV := []Address{{"alice@example.com", "email"}, {"+12025550143", "sms"}}
	if !reflect.DeepEqual(verifiable, wantV) {
		t.Errorf("verifiable = %+v, want %+v", verifiable, wantV)
	}
}

func TestValidateRefusesIdentifiers(t *testing.T) {
	s := inlineSchema(t, normalizeTestSchema)
	zwsp := `"ali\u200bce@example.com" contains an invisible character (U+200B), which a login identifier must not contain.`
	ext := `"+1 202 555 0143 ext. 7" has an extension, which a phone number used to sign in must not have.`
	mark := "\"ali\u0307ce\" contains" + ` a combining mark (U+0307) that does not combine with the letter before it, which a login identifier must not contain.`
	tests := []struct {
		name   string
		traits string
		want   []FieldError
	}{
		{"look-alikes that normalise are valid",
			`{"email":"ａlice@example.com","phone":"+1 202-555-0143","username":"ＡＬＩＣＥ","aliases":["cafe\u0301@example.com"]}`, nil},
		{"invisible character", `{"email":"ali\u200bce@example.com"}`, []FieldError{{
			Field: "traits.email", Keyword: "identifier", ID: text.ErrorValidationGeneric,
			Text: zwsp, Context: reason(zwsp), Legacy: "traits.email: Must be a valid login identifier: " + zwsp,
		}}},
		{"stray combining mark", `{"username":"ali\u0307ce"}`, []FieldError{{
			Field: "traits.username", Keyword: "identifier", ID: text.ErrorValidationGeneric,
			Text: mark, Context: reason(mark), Legacy: "traits.username: Must be a valid login identifier: " + mark,
		}}},
		{"phone number with an extension", `{"phone":"+1 202 555 0143 ext. 7"}`, []FieldError{{
			Field: "traits.phone", Keyword: "identifier", ID: text.ErrorValidationGeneric,
			Text: ext, Context: reason(ext), Legacy: "traits.phone: Must be a valid login identifier: " + ext,
		}}},
		{"array item, on the item", `{"aliases":["alice@example.com","ali\u200bce@example.com"]}`, []FieldError{{
			Field: "traits.aliases.1", Keyword: "identifier", ID: text.ErrorValidationGeneric,
			Text: zwsp, Context: reason(zwsp), Legacy: "traits.aliases.1: Must be a valid login identifier: " + zwsp,
		}}},
		{"a tel that does not parse is a format error, once", `{"phone":"202 555 0143","fax":"12"}`, []FieldError{
			{
				Field: "traits.phone", Keyword: "format", ID: text.ErrorValidationGeneric,
				Text: `"202 555 0143" is not valid "tel"`, Context: reason(`"202 555 0143" is not valid "tel"`),
				Legacy: "traits.phone: Must be a valid tel",
			},
			{
				Field: "traits.fax", Keyword: "format", ID: text.ErrorValidationGeneric,
				Text: `"12" is not valid "tel"`, Context: reason(`"12" is not valid "tel"`),
				Legacy: "traits.fax: Must be a valid tel",
			},
		}},
		{"a tel extension is fine off identifiers", `{"fax":"+1 202 555 0143 ext. 7"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Validate(decode(t, tt.traits))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate mismatch\n got: %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestLookupKeys(t *testing.T) {
	s := inlineSchema(t, normalizeTestSchema)
	tests := []struct {
		in   string
		want []string
	}{
		{"alice@example.com", []string{"alice@example.com"}},
		{" ALICE@Example.com ", []string{"alice@example.com"}},
		{"ａlice@example.com", []string{"alice@example.com", "ａlice@example.com"}},
		{"+1 (202) 555-0143", []string{"+12025550143", "+1 (202) 555-0143"}},
		{"Alice  Liddell", []string{"alice liddell", "alice  liddell"}},
		// Refused in every format: only the form identifiers were stored in
		// before normalisation, which finds such an identity made before.
		{"ali\u200bce@example.com", []string{"ali\u200bce@example.com"}},
		{"   ", nil},
	}
	for _, tt := range tests {
		if got := s.LookupKeys(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LookupKeys(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzNormalizeIdentifier: a normal form is its own normal form, the
// stores' lower-casing leaves it alone, and it holds no invisible
// character and no stray combining mark.
func FuzzNormalizeIdentifier(f *testing.F) {
	for _, seed := range []string{"Alice@Example.com", "ａlice@example.com", "ali\u200bce", "ali\u0307ce", "ALİCE",
		"ΣΊΣΥΦΟΣ", "Straße", "cafe\u0301", "john  smith", "+1 (202) 555-0143", "ｶﾞｸ", "alice@ℌello.com"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, format := range []string{"", "email", "tel"} {
			n, err := NormalizeIdentifier(in, format)
			if err != nil || n == "" {
				continue
			}
			if again, err := NormalizeIdentifier(n, format); err != nil || again != n {
				t.Fatalf("format %q: %q -> %q -> %q, %v", format, in, n, again, err)
			}
			if l := strings.ToLower(n); l != n {
				t.Fatalf("format %q: %q -> %q, lower-cased %q", format, in, n, l)
			}
			if _, ok := strayMark(n); ok || strings.ContainsFunc(n, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
				t.Fatalf("format %q: %q -> %q holds an invisible character or a stray mark", format, in, n)
			}
		}
	})
}
