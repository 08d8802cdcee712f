package courier

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/locale"
)

// builtin holds the built-in templates, laid out as an override directory
// is: <template>/<valid|invalid>/email.subject.gotmpl,
// email.body.gotmpl (HTML) and email.body.plaintext.gotmpl.
//
//go:embed templates
var builtin embed.FS

// The files of one template.
const (
	subjectFile   = "email.subject.gotmpl"
	htmlFile      = "email.body.gotmpl"
	plaintextFile = "email.body.plaintext.gotmpl"
)

// Templates renders each template type's mail: the subject and the plain
// text body with text/template, the HTML body with html/template.
type Templates struct {
	byType map[string]*templateSet
	langs  *locale.Catalog
}

// templateSet is one template type's three templates, parsed with a
// placeholder text function: each mail is rendered by a copy that speaks
// the message's language. The HTML template is never executed itself (an
// html/template cannot be copied once it has been); its copies are kept,
// one per language.
type templateSet struct {
	subject, plaintext *texttemplate.Template
	html               *htmltemplate.Template
	htmlByLang         sync.Map // *locale.Lang → *htmltemplate.Template
}

// Rendered is a rendered mail.
type Rendered struct {
	Subject, Text, HTML string
}

// templateDir is where a template type's files are, relative to the
// template root: verification_code_valid → verification_code/valid.
func templateDir(templateType string) string {
	for _, v := range []string{"valid", "invalid"} {
		if base, ok := strings.CutSuffix(templateType, "_"+v); ok {
			return base + "/" + v
		}
	}
	return templateType
}

// langFuncs are the functions every template may call: text, the mail
// texts (locale's strings "mail.<key>") in the language l.
func langFuncs(l *locale.Lang) map[string]any {
	return map[string]any{
		"text": func(key string) (string, error) {
			s := l.String("mail."+key, nil)
			if s == "mail."+key {
				return "", fmt.Errorf("no mail text %q", key)
			}
			return s, nil
		},
	}
}

// funcs are the placeholders templates are parsed with.
var funcs = langFuncs(nil)

// LoadTemplates parses the built-in templates and, when overrideDir is not
// empty, the files of that directory that replace them (laid out like the
// built-ins; a file that is missing keeps the built-in one). An error names
// the file. langs has the mail texts (nil: the built-in English and
// German); a message is written in its Lang, else the default language.
func LoadTemplates(overrideDir string, langs *locale.Catalog) (*Templates, error) {
	if langs == nil {
		var err error
		if langs, err = locale.Load(locale.Options{}); err != nil {
			return nil, err
		}
	}
	var override fs.FS
	if overrideDir != "" {
		info, err := os.Stat(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("templates: %s is not a directory", overrideDir)
		}
		override = os.DirFS(overrideDir)
	}
	root, _ := fs.Sub(builtin, "templates")
	t := &Templates{byType: map[string]*templateSet{}, langs: langs}
	for _, typ := range identity.TemplateTypes {
		dir := templateDir(typ)
		read := func(name string) (string, string, error) {
			p := path.Join(dir, name)
			if override != nil {
				b, err := fs.ReadFile(override, p)
				if err == nil {
					return string(b), filepath.Join(overrideDir, filepath.FromSlash(p)), nil
				}
				if !errors.Is(err, fs.ErrNotExist) {
					return "", "", fmt.Errorf("templates: %w", err)
				}
			}
			b, err := fs.ReadFile(root, p)
			return string(b), "built-in " + p, err
		}
		set := &templateSet{}
		for _, f := range []struct {
			name  string
			parse func(name, src string) error
		}{
			{subjectFile, func(name, src string) (err error) {
				set.subject, err = texttemplate.New(name).Funcs(funcs).Parse(src)
				return err
			}},
			{plaintextFile, func(name, src string) (err error) {
				set.plaintext, err = texttemplate.New(name).Funcs(funcs).Parse(src)
				return err
			}},
			{htmlFile, func(name, src string) (err error) {
				set.html, err = htmltemplate.New(name).Funcs(funcs).Parse(src)
				return err
			}},
		} {
			src, name, err := read(f.name)
			if err != nil {
				return nil, err
			}
			if err := f.parse(name, src); err != nil {
				return nil, fmt.Errorf("templates: %s: %w", name, err)
			}
		}
		t.byType[typ] = set
	}
	return t, nil
}

// Render renders m's mail from its template data, with .To set to the
// recipient. The subject is trimmed to one line.
func (t *Templates) Render(m *identity.Message) (Rendered, error) {
	set, ok := t.byType[m.TemplateType]
	if !ok {
		return Rendered{}, fmt.Errorf("no template for type %q", m.TemplateType)
	}
	data := make(map[string]any, len(m.TemplateData)+1)
	for k, v := range m.TemplateData {
		data[k] = v
	}
	data["To"] = m.Recipient
	l := t.langs.Get(m.Lang)
	html, err := set.htmlIn(l)
	if err != nil {
		return Rendered{}, err
	}
	var subject, plain, body bytes.Buffer
	for _, r := range []struct {
		t   *texttemplate.Template
		out *bytes.Buffer
	}{{set.subject, &subject}, {set.plaintext, &plain}} {
		c, err := r.t.Clone()
		if err != nil {
			return Rendered{}, err
		}
		if err := c.Funcs(langFuncs(l)).Execute(r.out, data); err != nil {
			return Rendered{}, err
		}
	}
	if err := html.Execute(&body, data); err != nil {
		return Rendered{}, err
	}
	return Rendered{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    plain.String(),
		HTML:    body.String(),
	}, nil
}

// htmlIn is the set's HTML template speaking l.
func (set *templateSet) htmlIn(l *locale.Lang) (*htmltemplate.Template, error) {
	if t, ok := set.htmlByLang.Load(l); ok {
		return t.(*htmltemplate.Template), nil
	}
	c, err := set.html.Clone()
	if err != nil {
		return nil, err
	}
	t, _ := set.htmlByLang.LoadOrStore(l, c.Funcs(langFuncs(l)))
	return t.(*htmltemplate.Template), nil
}
