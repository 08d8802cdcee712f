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
	texttemplate "text/template"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
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
}

// templateSet is one template type's three templates.
type templateSet struct {
	subject, plaintext *texttemplate.Template
	html               *htmltemplate.Template
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

// funcs are the functions every template may call: text, the mail texts of
// the message catalogue (text.MailText).
var funcs = map[string]any{
	"text": func(key string) (string, error) {
		s, ok := text.MailText(key)
		if !ok {
			return "", fmt.Errorf("no mail text %q", key)
		}
		return s, nil
	},
}

// LoadTemplates parses the built-in templates and, when overrideDir is not
// empty, the files of that directory that replace them (laid out like the
// built-ins; a file that is missing keeps the built-in one). An error names
// the file.
func LoadTemplates(overrideDir string) (*Templates, error) {
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
	t := &Templates{byType: map[string]*templateSet{}}
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
	var subject, plain, html bytes.Buffer
	if err := set.subject.Execute(&subject, data); err != nil {
		return Rendered{}, err
	}
	if err := set.plaintext.Execute(&plain, data); err != nil {
		return Rendered{}, err
	}
	if err := set.html.Execute(&html, data); err != nil {
		return Rendered{}, err
	}
	return Rendered{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    plain.String(),
		HTML:    html.String(),
	}, nil
}
