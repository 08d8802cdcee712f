package pages

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/seed06f30684/caddy-kratos/locale"
)

// Templates are the pages' templates: the built-in page.html (which
// defines "page.html" and the parts it calls: "messages", "form",
// "field", "devices"), then a site's own files, whose definitions replace
// the built-in ones of the same name. Every page is the one template
// "page.html" executed with a *Page; the words come from the template
// functions t (a key of locale's strings) and tf (a key and name/value
// pairs).
type Templates struct {
	base   *template.Template // never executed: it is cloned per language
	byLang sync.Map           // *locale.Lang → *template.Template
}

// Builtin are the built-in templates.
var Builtin = &Templates{base: template.Must(template.New("page.html").Funcs(langFuncs(nil)).ParseFS(uiFiles, "templates/page.html"))}

// LoadTemplates reads a site's templates: every *.html file in dir,
// parsed after the built-in ones. An error names the file.
func LoadTemplates(dir string) (*Templates, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s has no *.html template files", dir)
	}
	base, err := Builtin.base.Clone()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		t := base.Lookup(name)
		if t == nil {
			t = base.New(name)
		}
		if _, err := t.Parse(string(raw)); err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
	}
	// A template that parses may still be one html/template cannot make
	// safe, which only its first execution tells: try a copy now.
	probe, err := base.Clone()
	if err != nil {
		return nil, err
	}
	var unsafe *template.Error
	if err := probe.Execute(io.Discard, &Page{}); errors.As(err, &unsafe) {
		return nil, fmt.Errorf("templates in %s: %w", dir, err)
	}
	return &Templates{base: base}, nil
}

// Execute renders page.html in language l.
func (ts *Templates) Execute(w io.Writer, l *locale.Lang, p *Page) error {
	t, ok := ts.byLang.Load(l)
	if !ok {
		c, err := ts.base.Clone()
		if err != nil {
			return err
		}
		t, _ = ts.byLang.LoadOrStore(l, c.Funcs(langFuncs(l)))
	}
	return t.(*template.Template).Execute(w, p)
}

// Execute renders the built-in page.html in language l.
func Execute(w io.Writer, l *locale.Lang, p *Page) error { return Builtin.Execute(w, l, p) }

// langFuncs are the template functions of a language.
func langFuncs(l *locale.Lang) template.FuncMap {
	return template.FuncMap{
		"t": func(key string) string { return l.String(key, nil) },
		"tf": func(key string, pairs ...any) string {
			args := map[string]any{}
			for i := 0; i+1 < len(pairs); i += 2 {
				if name, ok := pairs[i].(string); ok {
					args[name] = pairs[i+1]
				}
			}
			return l.String(key, args)
		},
	}
}
