// Package pages renders the built-in UI: server-rendered HTML pages for
// every flow, built from the same form (identity.UI) that the JSON API
// returns, through html/template, with a strict Content-Security-Policy and
// no JavaScript. It knows HTML; the flows package decides what to show.
package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/locale"
	"github.com/seed06f30684/caddy-kratos/text"
)

// uiStylePath is the built-in stylesheet, under the public prefix.
const StylePath = "/ui/style.css"

// Renderer renders the built-in pages of one site.
type Renderer struct {
	Site *siteurl.Site
	// Stylesheet is the configured stylesheet's URL or site path; "" is
	// the built-in one.
	Stylesheet string
	Logger     *zap.Logger
	// Locale has the languages the pages speak; the request's
	// Accept-Language picks one.
	Locale *locale.Catalog
	// Templates are the site's page templates; nil is the built-in ones.
	Templates *Templates
	// SiteName and Logo (a URL or site path) name the site on every page;
	// "" shows none.
	SiteName, Logo string
}

// Lang is the language of the request's pages.
func (s *Renderer) Lang(r *http.Request) *locale.Lang {
	return s.Locale.Pick(r.Header.Get("Accept-Language"))
}

// The built-in UI's view model and rendering. Every value reaches the HTML
// through html/template's contextual escaping; nothing here builds markup.

//go:embed templates/page.html templates/style.css
var uiFiles embed.FS

var (
	CSS = mustReadUIFile("templates/style.css")
	// uiCSSVersion names this build's stylesheet (its ETag, and ?v= in the
	// pages' link so a new build is fetched at once).
	CSSVersion = func() string { sum := sha256.Sum256(CSS); return hex.EncodeToString(sum[:8]) }()
)

func mustReadUIFile(name string) []byte {
	b, err := uiFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// uiPage is everything page.html shows.
type Page struct {
	Lang       string // the <html lang>; Render sets it
	SiteName   string // Render sets it, and Logo
	Logo       string
	Title      string
	Heading    string
	Intro      string
	Stylesheet string
	Messages   []Message
	Error      *Error
	Forms      []Form
	Devices    *Devices // the settings page's "Your devices"
	SignOut    string
	Links      []Link
}

type Message struct {
	ID   int
	Type string // error, info or success
	Text string
}

type Error struct {
	Code    int
	Status  string
	Message string
	Reason  string
	ID      string
}

type Link struct {
	Prefix string // text before the link ("No account yet?")
	Text   string
	Href   string
}

// uiForm is one <form>: a flow method's nodes with the shared ones (CSRF).
type Form struct {
	ID       string // also the prefix of its inputs' ids
	Heading  string // set when a page has several forms
	Action   string
	Method   string
	Messages []Message // messages of hidden inputs and buttons
	Hidden   []Field
	Fields   []Field
	Buttons  []Button
}

type Field struct {
	ID           string
	Name         string
	Type         string // a safe HTML input type
	Label        string
	Value        string
	Items        []string // the values of an array trait, one input each
	Checked      bool
	Required     bool
	Disabled     bool
	Autocomplete string
	MaxLength    int
	Hint         string
	Messages     []Message
}

type Button struct {
	Name  string
	Value string
	Label string
}

// Invalid reports whether the field has an error message.
func (f Field) Invalid() bool {
	for _, m := range f.Messages {
		if m.Type == text.Error {
			return true
		}
	}
	return false
}

// Checkbox reports whether the field is a checkbox.
func (f Field) Checkbox() bool { return f.Type == "checkbox" }

// DescribedBy is the field's aria-describedby: its hint and messages.
func (f Field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if len(f.Messages) > 0 {
		ids = append(ids, f.ID+"-messages")
	}
	return strings.Join(ids, " ")
}

// MoreItems are the inputs of an array trait after the first, plus an empty
// one to add an item.
func (f Field) MoreItems() []string {
	if len(f.Items) == 0 {
		return nil
	}
	return append(slices.Clone(f.Items[1:]), "")
}

// Input types the pages render as they are; anything else is text.
var uiInputTypes = map[string]bool{
	"text": true, "email": true, "password": true, "number": true, "tel": true, "url": true,
	"date": true, "datetime-local": true, "checkbox": true, "hidden": true, "submit": true,
}

// MessageOf is a message for a person in l: its text by id and context
// (locale), not the validator's. inputType is the HTML input type of the
// field it is on, "" for none.
func MessageOf(l *locale.Lang, m text.Message, inputType string) Message {
	t := m.Type
	if t != text.Error && t != text.Success {
		t = text.Info
	}
	return Message{ID: m.ID, Type: t, Text: l.Text(m, inputType)}
}

func Messages(l *locale.Lang, ms []text.Message, inputType string) []Message {
	var out []Message
	for _, m := range ms {
		out = append(out, MessageOf(l, m, inputType))
	}
	return out
}

func HasMessageID(ms []text.Message, id int) bool {
	return slices.ContainsFunc(ms, func(m text.Message) bool { return m.ID == id })
}

// groupHeadings name the forms of a page with several methods (string
// keys of locale).
var groupHeadings = map[string]string{identity.GroupProfile: "settings.profile", identity.GroupPassword: "settings.password"}

// nodeForms turns a flow's UI into forms: one per method group, in the order
// the groups first appear, each with the default group's nodes (the CSRF
// token, the login identifier) in their place among its own.
func NodeForms(l *locale.Lang, ui identity.UI, idPrefix string) []Form {
	var groups []string
	for _, n := range ui.Nodes {
		if n.Type == "input" && n.Group != identity.GroupDefault && !slices.Contains(groups, n.Group) {
			groups = append(groups, n.Group)
		}
	}
	if len(groups) == 0 {
		groups = []string{identity.GroupDefault}
	}
	forms := make([]Form, 0, len(groups))
	for _, g := range groups {
		form := Form{ID: idPrefix, Action: ui.Action, Method: FormMethod(ui.Method)}
		if len(groups) > 1 {
			form.ID = idPrefix + "-" + safeID(g)
			form.Heading = Humanise(g)
			if key, ok := groupHeadings[g]; ok {
				form.Heading = l.String(key, nil)
			}
		}
		for _, n := range ui.Nodes {
			if n.Type != "input" || (n.Group != g && n.Group != identity.GroupDefault) {
				continue
			}
			form.Add(n, NodeLabel(l, n), n.Attributes.Value, n.Attributes.Disabled, Messages(l, n.Messages, n.Attributes.Type))
		}
		forms = append(forms, form)
	}
	return forms
}

// add puts one input node into the form: a hidden input, a button or a
// field (returned so the caller can add to it).
func (form *Form) Add(n identity.Node, label string, value any, disabled bool, ms []Message) *Field {
	a := n.Attributes
	typ := a.Type
	if !uiInputTypes[typ] {
		typ = "text"
	}
	switch typ {
	case "hidden":
		form.Hidden = append(form.Hidden, Field{Name: a.Name, Type: typ, Value: valueString(value)})
		form.Messages = append(form.Messages, ms...)
		return nil
	case "submit":
		form.Buttons = append(form.Buttons, Button{Name: a.Name, Value: valueString(value), Label: label})
		form.Messages = append(form.Messages, ms...)
		return nil
	}
	f := Field{
		ID: form.ID + "-" + safeID(a.Name), Name: a.Name, Type: typ, Label: label,
		Required: a.Required, Disabled: disabled, Autocomplete: a.Autocomplete, MaxLength: a.MaxLength,
		Messages: ms,
	}
	if a.Name == "identifier" && f.Autocomplete == "" {
		// The API offers only Kratos' autocomplete values, without
		// "username"; a browser's password manager still wants it.
		f.Autocomplete = "username"
	}
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			f.Items = append(f.Items, valueString(item))
		}
		if len(f.Items) == 0 {
			f.Items = []string{""}
		}
		f.Value = f.Items[0]
	case bool:
		f.Checked = v
	default:
		if typ != "password" {
			f.Value = valueString(value)
		}
	}
	if typ == "checkbox" {
		if b, ok := value.(string); ok {
			f.Checked = b == "true"
		}
		f.Value = "true"
	}
	form.Fields = append(form.Fields, f)
	return &form.Fields[len(form.Fields)-1]
}

func FormMethod(m string) string {
	if strings.EqualFold(m, http.MethodGet) {
		return http.MethodGet
	}
	return http.MethodPost
}

// valueString is a node value as an input's value.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case int, int64, int32:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// nodeLabel is a node's label: meta.label, else its name (or, for a
// button, its value) made readable.
func NodeLabel(l *locale.Lang, n identity.Node) string {
	if m := n.Meta.Label; m != nil && strings.TrimSpace(m.Text) != "" {
		return l.Text(*m, "")
	}
	if n.Attributes.Type == "submit" {
		if v, ok := n.Attributes.Value.(string); ok && v != "" {
			return Humanise(v)
		}
	}
	return Humanise(n.Attributes.Name)
}

var camelBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// humanise makes a field name readable: "traits.name.first" is "First name",
// "traits.phoneNumber" is "Phone number". Nested names read innermost first,
// as English puts the qualifier before the noun.
func Humanise(name string) string {
	name = strings.TrimPrefix(name, "traits.")
	parts := strings.Split(name, ".")
	slices.Reverse(parts)
	s := strings.Join(parts, " ")
	s = camelBoundary.ReplaceAllString(s, "$1 $2")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == '_' || r == '-' || r == '\\' || unicode.IsSpace(r)
	}), " ")
	s = strings.ToLower(s)
	if s == "" {
		return "Value"
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// safeID turns a name into an id fragment.
func safeID(name string) string {
	return strings.Trim(unsafeIDChars.ReplaceAllString(name, "-"), "-")
}

// stylesheetURL is the page's stylesheet: the configured one, else ours.
func (s *Renderer) stylesheetURL() string {
	if s.Stylesheet != "" {
		return s.Stylesheet
	}
	return s.Site.PublicPrefix + StylePath + "?v=" + CSSVersion
}

var cspHost = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// origin is the scheme://host of an absolute http(s) URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !cspHost.MatchString(u.Host) {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// uiCSP is the pages' Content-Security-Policy: nothing but our stylesheet;
// forms post to this site. A form's action and the redirects after the post
// are checked against form-action, so the site's configured public URL, UI
// pages and return URLs (all set by the site owner) are allowed too.
func (s *Renderer) uiCSP(r *http.Request) string {
	self := origin(s.Site.Base(r).String())
	sources := func(refs ...string) string {
		out := []string{"'self'"}
		for _, ref := range refs {
			if o := origin(ref); o != "" && o != self && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
		return strings.Join(out, " ")
	}
	ui := s.Site.UI
	targets := []string{s.Site.Base(r).String(), ui.Login, ui.Registration, ui.Settings, ui.Profile, ui.Error, s.Site.DefaultReturnURL}
	targets = append(targets, s.Site.AllowedReturnURLs...)
	img := ""
	if s.Logo != "" {
		img = "; img-src " + sources(s.Logo)
	}
	return "default-src 'none'; style-src " + sources(s.Stylesheet) + img +
		"; form-action " + sources(targets...) +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// renderPage answers with a page.
func (s *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, p *Page) {
	p.Stylesheet = s.stylesheetURL()
	p.SiteName, p.Logo = s.SiteName, s.Logo
	l := s.Lang(r)
	p.Lang = l.Tag()
	tmpl := s.Templates
	if tmpl == nil {
		tmpl = Builtin
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, l, p); err != nil {
		s.Logger.Error("built-in UI page failed to render", zap.Error(err))
		apierror.Write(w, r, apierror.New(http.StatusInternalServerError, "The page could not be rendered."))
		return
	}
	h := w.Header()
	reply.NoCache(w)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.uiCSP(r))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
