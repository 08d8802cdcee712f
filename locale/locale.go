// Package locale translates what people read on the built-in pages and in
// the courier's mails: Kratos messages, by id (and, where one id covers
// several situations, a variant), and the pages' own words, by key. The
// language of a request comes from its Accept-Language header, matched
// against the languages a site enables.
//
// English and German are built in (translations/*.json). A site may
// override any text, or add a language, with files of the same form in a
// directory of its own: <dir>/<language>.json. Every file is checked when
// it is loaded, and an error names the file and the key.
//
// The JSON APIs never go through here: they keep Kratos' English texts,
// which Ory's UIs translate by id on their side.
package locale

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

//go:embed translations/*.json
var builtin embed.FS

// Builtin lists the languages shipped in full.
var Builtin = []string{"en", "de"}

// file is one translation file.
type file struct {
	// Messages are Kratos messages: "4000003", or "4000004.email" for a
	// variant (see Variant).
	Messages map[string]string `json:"messages"`
	// Strings are the pages' and mails' own words, by key.
	Strings map[string]string `json:"strings"`
}

// Options choose the languages.
type Options struct {
	// Default is the language of a request that asks for none of the
	// enabled ones ("en" when empty).
	Default string
	// Enabled are the languages offered (Builtin when empty); Default is
	// added when missing.
	Enabled []string
	// Dir holds a site's own translation files, <language>.json; "" for
	// none.
	Dir string
}

// Catalog holds the enabled languages. It is safe for concurrent use.
type Catalog struct {
	tags    []language.Tag // enabled, Default first
	matcher language.Matcher
	langs   []*Lang // as tags
}

// Lang is one language's texts.
type Lang struct {
	tag      language.Tag
	messages map[string]string
	strings  map[string]string
	english  *Lang // the fallback for what this language lacks; nil for English
}

// Load reads the built-in translations and the site's directory, and
// checks them: every key must be known to English, and a text may use only
// the placeholders the English text has.
func Load(o Options) (*Catalog, error) {
	english, err := readBuiltin("en")
	if err != nil {
		return nil, err
	}
	def := o.Default
	if def == "" {
		def = "en"
	}
	enabled := o.Enabled
	if len(enabled) == 0 {
		enabled = Builtin
	}
	enabled = append([]string{def}, slices.DeleteFunc(slices.Clone(enabled), func(s string) bool { return s == def })...)

	c := &Catalog{}
	en := &Lang{tag: language.English, messages: english.Messages, strings: english.Strings}
	for _, name := range enabled {
		tag, err := language.Parse(name)
		if err != nil {
			return nil, fmt.Errorf("locale: %q is not a language tag (e.g. en, de, pt-BR): %v", name, err)
		}
		l := &Lang{tag: tag, messages: map[string]string{}, strings: map[string]string{}, english: en}
		if base, _ := tag.Base(); base.String() == "en" {
			l.english = nil
		}
		// The built-in texts of the language (or of its base language:
		// de for de-AT), then the site's.
		if f, err := readBuiltin(baseOf(tag)); err == nil {
			merge(l, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if o.Dir != "" {
			path := filepath.Join(o.Dir, name+".json")
			f, err := readFile(os.DirFS(o.Dir), name+".json", path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			if err == nil {
				if err := check(f, english, path); err != nil {
					return nil, err
				}
				merge(l, f)
			}
		}
		if l.english != nil && len(l.messages) == 0 && len(l.strings) == 0 {
			return nil, fmt.Errorf("locale: language %q is enabled but has no translations: add %s.json to the translations directory", name, name)
		}
		c.tags = append(c.tags, tag)
		c.langs = append(c.langs, l)
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

func baseOf(tag language.Tag) string {
	base, _ := tag.Base()
	return base.String()
}

func merge(l *Lang, f *file) {
	for k, v := range f.Messages {
		l.messages[k] = v
	}
	for k, v := range f.Strings {
		l.strings[k] = v
	}
}

func readBuiltin(name string) (*file, error) {
	return readFile(builtin, "translations/"+name+".json", "built-in "+name+".json")
}

func readFile(fsys fs.FS, name, shown string) (*file, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("locale: %s: %v (expected {\"messages\": {\"<message id>\": \"text\"}, \"strings\": {\"<key>\": \"text\"}})", shown, err)
	}
	return &f, nil
}

var placeholderRe = regexp.MustCompile(`\{([a-z_]+)\}`)

// check refuses keys English does not have and placeholders the English
// text does not use: either would show a person a broken text.
func check(f *file, english *file, path string) error {
	for kind, texts := range map[string][2]map[string]string{
		"messages": {f.Messages, english.Messages},
		"strings":  {f.Strings, english.Strings},
	} {
		for _, key := range sortedKeys(texts[0]) {
			want, ok := texts[1][key]
			if !ok {
				return fmt.Errorf("locale: %s: %s key %q is not one we have; the English file lists every key", path, kind, key)
			}
			allowed := placeholders(want)
			for _, p := range placeholders(texts[0][key]) {
				if !slices.Contains(allowed, p) {
					return fmt.Errorf("locale: %s: %s key %q uses {%s}, which this text does not have (it has %v)", path, kind, key, p, allowed)
				}
			}
		}
	}
	return nil
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Pick is the enabled language that best matches an Accept-Language
// header; the default one when nothing matches.
func (c *Catalog) Pick(acceptLanguage string) *Lang {
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	_, i, _ := c.matcher.Match(tags...)
	return c.langs[i]
}

// Get is the enabled language named name, or the default one.
func (c *Catalog) Get(name string) *Lang {
	for i, t := range c.tags {
		if t.String() == name {
			return c.langs[i]
		}
	}
	return c.langs[0]
}

// Tag is the language's BCP 47 tag, for an HTML lang attribute.
func (l *Lang) Tag() string { return l.tag.String() }

// Message is the text of a Kratos message (id, context) for a person:
// the variant's text when there is one, else the id's, in this language or
// else in English, with the context's values in its placeholders. A
// message nobody translated keeps its own text.
func (l *Lang) Message(id int, variant string, context map[string]any, own string) string {
	key := strconv.Itoa(id)
	for lang := l; lang != nil; lang = lang.english {
		if variant != "" {
			if t, ok := lang.messages[key+"."+variant]; ok {
				return fill(t, context)
			}
		}
		if t, ok := lang.messages[key]; ok {
			return fill(t, context)
		}
	}
	return own
}

// String is one of the pages' own texts, with args in its placeholders;
// the key itself when no language has it (a test keeps English complete).
func (l *Lang) String(key string, args map[string]any) string {
	for lang := l; lang != nil; lang = lang.english {
		if t, ok := lang.strings[key]; ok {
			return fill(t, args)
		}
	}
	return key
}

// fill puts values into {name} placeholders; a placeholder without a value
// stays as it is.
func fill(s string, values map[string]any) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return placeholderRe.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := values[m[1:len(m)-1]]
		if !ok {
			return m
		}
		switch n := v.(type) {
		case float64:
			return strconv.FormatFloat(n, 'f', -1, 64)
		case json.Number:
			return n.String()
		case []any:
			parts := make([]string, len(n))
			for i, p := range n {
				parts[i] = fmt.Sprint(p)
			}
			return strings.Join(parts, ", ")
		default:
			return fmt.Sprint(n)
		}
	})
}
