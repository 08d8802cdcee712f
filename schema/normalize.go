package schema

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/seed06f30684/caddy-kratos/text"
)

// Login identifiers are normalised so that one identifier has one spelling:
// two spellings that look alike or mean the same (fullwidth letters,
// composed and decomposed accents, upper and lower case, one phone number
// written two ways) are one account. Every identifier the service derives,
// compares or stores goes through NormalizeIdentifier: the identifiers and
// addresses of traits (Identifiers, Addresses), the validation of traits
// (Validate refuses what cannot be normalised), and the lookups of the
// login and the admin API (LookupKeys).
//
// The rules, by the schema "format" of the identifier trait:
//
//   - every format: surrounding white space is dropped; an invisible
//     (Unicode category Cf, such as U+200B ZERO WIDTH SPACE, U+2060 WORD
//     JOINER, U+FEFF) or control character is refused.
//   - "email": the whole address is width-folded (fullwidth Ａ and ＠ are A
//     and @), then split at its last "@"; the local part follows the
//     username rules below (no spaces); the domain is NFKC-normalised and
//     then lower-cased by the same PRECIS profile.
//   - "tel": the number must parse with libphonenumber in international
//     format (a "+" and the country code; there is no default region), be
//     valid by its metadata (IsValidNumber, as Kratos' own phone
//     normalisation asks) and have no extension; it is written in E.164
//     ("+12025550143"). The "tel" format of a trait that is no identifier
//     only asks that the number parse (isTel).
//   - any other format (usernames): runs of white space become one space,
//     and each space-separated part is enforced with the PRECIS
//     UsernameCaseMapped profile (RFC 8265: width mapping, lower case, NFC,
//     only letters, digits and printable ASCII; RFC 8265 §3.5 allows spaces
//     between parts this way). A combining mark of no script of its own
//     (script Inherited, such as U+0307 COMBINING DOT ABOVE) that NFC could
//     not compose with the letter before it is refused: "ali\u0307ce" looks
//     like "alice". U+0130 (İ) is lower-cased to "i", as strings.ToLower
//     did before, rather than to "i" + U+0307.
//
// For plain printable ASCII without spaces the result is strings.ToLower of
// the value, so identifiers stored before normalisation keep working.

// IdentifierError is an identifier that cannot be normalised. Reason is a
// sentence for the user.
type IdentifierError struct {
	Value  string
	Reason string
}

func (e *IdentifierError) Error() string { return e.Reason }

func refuse(value, format string, args ...any) error {
	return &IdentifierError{Value: value, Reason: fmt.Sprintf(format, args...)}
}

// NormalizeIdentifier returns the normal form of the login identifier
// value, by the schema format of its trait ("email", "tel", anything else
// is a username). A value of only white space normalises to "". A value
// that cannot be an identifier is an *IdentifierError.
func NormalizeIdentifier(value, format string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", nil
	}
	for _, r := range v {
		switch {
		case unicode.Is(unicode.Cf, r):
			return "", refuse(value, "%q contains an invisible character (%U), which a login identifier must not contain.", value, r)
		case unicode.IsControl(r) && !unicode.IsSpace(r): // a tab is white space
			return "", refuse(value, "%q contains a control character (%U), which a login identifier must not contain.", value, r)
		}
	}
	switch format {
	case "email":
		return normalizeEmail(value, v)
	case "tel":
		return normalizePhone(value, v)
	}
	parts := strings.Fields(v)
	for i, p := range parts {
		n, err := normalizePart(value, p)
		if err != nil {
			return "", err
		}
		parts[i] = n
	}
	return strings.Join(parts, " "), nil
}

// normalizeEmail normalises an email address (v, trimmed, of value).
func normalizeEmail(value, v string) (string, error) {
	v = width.Fold.String(v)
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return "", refuse(value, "%q is not an email address.", value)
	}
	local, domain := v[:at], v[at+1:]
	if strings.IndexFunc(local, unicode.IsSpace) >= 0 {
		return "", refuse(value, "%q contains a space, which an email address used to sign in must not contain.", value)
	}
	local, err := normalizePart(value, local)
	if err != nil {
		return "", err
	}
	domain = norm.NFKC.String(domain)
	if strings.IndexFunc(domain, unicode.IsSpace) >= 0 {
		return "", refuse(value, "%q contains a space, which an email address used to sign in must not contain.", value)
	}
	if domain, err = normalizePart(value, domain); err != nil {
		return "", err
	}
	return local + "@" + domain, nil
}

// normalizePhone writes the phone number v (trimmed, of value) in E.164.
func normalizePhone(value, v string) (string, error) {
	n, err := phonenumbers.Parse(v, "")
	if err != nil {
		return "", refuse(value, "%q is not a phone number in international format (a + and the country code, for example +49 30 1234567).", value)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", refuse(value, "%q is not a valid phone number.", value)
	}
	if n.GetExtension() != "" {
		return "", refuse(value, "%q has an extension, which a phone number used to sign in must not have.", value)
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if again, err := phonenumbers.Parse(e164, ""); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		// Not seen with a valid number; a normal form must be its own.
		return "", refuse(value, "%q is not a valid phone number.", value)
	}
	return e164, nil
}

// normalizePart enforces the PRECIS UsernameCaseMapped profile on p (a
// part of value without white space) and refuses combining marks that
// stay apart from their letter.
func normalizePart(value, p string) (string, error) {
	p = norm.NFC.String(width.Fold.String(p))
	p = strings.ReplaceAll(p, "\u0130", "I") // İ (also I + U+0307): "i", as strings.ToLower made it
	if r, ok := strayMark(p); ok {
		return "", refuse(value, "%q contains a combining mark (%U) that does not combine with the letter before it, which a login identifier must not contain.", value, r)
	}
	out, err := precis.UsernameCaseMapped.String(p)
	if err != nil {
		return "", explainRefusal(value, p)
	}
	if r, ok := strayMark(out); ok { // not expected: the case mapping made one
		return "", refuse(value, "%q contains a combining mark (%U) that does not combine with the letter before it, which a login identifier must not contain.", value, r)
	}
	return out, nil
}

// strayMark finds a combining mark of script Inherited (U+0300..U+036F,
// U+034F, the variation selectors, ...) left in s, which is NFC: NFC would
// have composed it with its letter if a composed letter existed. Marks of
// a script of their own (a Devanagari vowel sign) are the script's
// letters' business and stay.
func strayMark(s string) (rune, bool) {
	for _, r := range s {
		if unicode.Is(unicode.M, r) && unicode.Is(unicode.Inherited, r) {
			return r, true
		}
	}
	return 0, false
}

// explainRefusal says why PRECIS refused p, a part of value: it names the
// first character the profile refuses on its own, else the string is
// refused as a whole (by the bidi rule: right-to-left and left-to-right
// text mixed in a way it does not allow; or by a contextual rule, such as
// U+30FB KATAKANA MIDDLE DOT without katakana).
func explainRefusal(value, p string) error {
	for _, r := range p {
		if unicode.Is(unicode.M, r) {
			continue // judged with the letter it follows
		}
		if _, err := precis.UsernameCaseMapped.String(string(r)); err != nil {
			return refuse(value, "%q contains the character %q (%U), which a login identifier must not contain.", value, r, r)
		}
	}
	return refuse(value, "%q cannot be a login identifier: it mixes right-to-left and left-to-right text, or uses a character out of its context.", value)
}

// NormalizeAddress is the value of a verifiable or recovery address (via
// "email" or "sms"): normalised as an email or phone identifier is when it
// can be, else as addresses were before normalisation (an email address
// lower-cased, a phone number as given). Validate refuses the identifiers
// that cannot be normalised, not the addresses.
func NormalizeAddress(value, via string) string {
	switch via {
	case "email":
		if n, err := NormalizeIdentifier(value, "email"); err == nil && n != "" {
			return n
		}
		return strings.ToLower(value)
	case "sms":
		if n, err := NormalizeIdentifier(value, "tel"); err == nil && n != "" {
			return n
		}
	}
	return value
}

// LookupKeys returns the keys under which the login identifier a user
// typed may be stored, best first: its normal form for each format of the
// schema's identifier traits (an email, a phone number, a username), then
// the form identifiers had before normalisation (trimmed and lower-cased),
// so that an identifier stored before, in a spelling normalisation now
// changes, still finds its identity. Empty input has no keys.
func (s *Schema) LookupKeys(input string) []string {
	var formats []string
	for _, f := range s.fields {
		if f.Identifier && !slices.Contains(formats, f.Format) {
			formats = append(formats, f.Format)
		}
	}
	var keys []string
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, format := range formats {
		if k, err := NormalizeIdentifier(input, format); err == nil {
			add(k)
		}
	}
	add(strings.ToLower(strings.TrimSpace(input)))
	return keys
}

// isTel is the "tel" format, which the JSON Schema library does not know: a
// phone number libphonenumber can parse, in international format (an
// extension is allowed here; a login identifier refuses it). It does not
// ask libphonenumber whether the number is assigned (IsValidNumber): that
// depends on the library's metadata of the day. Values other than strings
// are left to "type".
func isTel(v any) bool {
	s, ok := v.(string)
	if !ok {
		return true
	}
	_, err := phonenumbers.Parse(s, "")
	return err == nil
}

// identifierIssues refuses the values of identifier traits that cannot be
// normalised (NormalizeIdentifier), each on its trait (an array item on
// the item), under the keyword "identifier". A value that already fails
// its "format" gets no second message.
func (s *Schema) identifierIssues(traits any, found []issue) []issue {
	var out []issue
	for _, f := range s.fields {
		if !f.Identifier {
			continue
		}
		v, ok := lookup(traits, f.Path)
		if !ok {
			continue
		}
		check := func(path []string, v any) {
			str, ok := v.(string)
			if !ok {
				return
			}
			_, err := NormalizeIdentifier(str, f.Format)
			var ie *IdentifierError
			if !errors.As(err, &ie) {
				return
			}
			name := fieldName(path)
			for _, is := range found {
				if is.keyword == "format" && !is.outside && is.field() == name {
					return
				}
			}
			m := text.InvalidIdentifier(ie.Reason)
			out = append(out, issue{path: path, keyword: "identifier", id: m.ID, text: m.Text, context: m.Context,
				legacy: "Must be a valid login identifier: " + ie.Reason})
		}
		if items, ok := v.([]any); ok {
			for i, item := range items {
				check(append(slices.Clip(f.Path), strconv.Itoa(i)), item)
			}
			continue
		}
		check(f.Path, v)
	}
	return out
}
