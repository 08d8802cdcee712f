package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// MaxBodyBytes bounds every request body we read.
const MaxBodyBytes = 64 << 10

// body is a decoded request body: a JSON object or form values.
type Body struct {
	json map[string]any
	Form url.Values
}

// readBody decodes a POST body: JSON (application/json) or a form
// (application/x-www-form-urlencoded, multipart/form-data). Errors are
// 4xx protocol errors.
func Read(w http.ResponseWriter, r *http.Request) (*Body, error) {
	if r.ContentLength == 0 {
		return nil, apierror.BadRequest(`Unable to decode HTTP Request Body because its HTTP Header "Content-Length" is zero.`)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierror.New(http.StatusRequestEntityTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return nil, apierror.BadRequest("Unable to read the HTTP request body.")
	}
	if len(raw) == 0 {
		return nil, apierror.BadRequest(`Unable to decode HTTP Request Body because its HTTP Header "Content-Length" is zero.`)
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return nil, apierror.BadRequest("The request body is not a valid JSON object.")
		}
		// Nothing but white space may follow the object. dec.More() is no
		// test of that: it is false for a stray "]" or "}".
		if _, err := dec.Token(); err != io.EOF {
			return nil, apierror.BadRequest("The request body holds more than one JSON value.")
		}
		if err := CheckNumbers(obj); err != nil {
			return nil, err
		}
		return &Body{json: obj}, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, apierror.BadRequest("The request body is not a valid form: %v.", err)
		}
		return &Body{Form: form}, nil
	case "multipart/form-data":
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(raw))
		r2.Header.Set("Content-Type", mime.FormatMediaType(ct, params))
		if err := r2.ParseMultipartForm(MaxBodyBytes); err != nil {
			return nil, apierror.BadRequest("The request body is not a valid multipart form.")
		}
		return &Body{Form: url.Values(r2.MultipartForm.Value)}, nil
	default:
		return nil, apierror.BadRequest(`HTTP POST Request used unknown HTTP Header "Content-Type: %s", only [application/json application/x-www-form-urlencoded multipart/form-data] are supported.`, r.Header.Get("Content-Type"))
	}
}

// str returns a top-level string field ("" when absent). A JSON value of
// another type is an error naming the field.
func (b *Body) Str(key string) (string, error) {
	if b.Form != nil {
		return b.Form.Get(key), nil
	}
	v, ok := b.json[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", apierror.BadRequest("The field %q must be a string.", key)
	}
	return s, nil
}

// checkFields refuses fields other than the allowed ones; a name ending in
// "." allows every key with that prefix (dotted form names).
// Has reports whether the body holds the field name, or (name ending in
// ".") any field under it.
func (b *Body) Has(name string) bool {
	match := func(key string) bool {
		return key == name || (strings.HasSuffix(name, ".") && strings.HasPrefix(key, name))
	}
	for k := range b.Form {
		if match(k) {
			return true
		}
	}
	for k := range b.json {
		if match(k) {
			return true
		}
	}
	return false
}

func (b *Body) CheckFields(allowed ...string) error {
	check := func(key string) error {
		for _, a := range allowed {
			if key == a || (strings.HasSuffix(a, ".") && strings.HasPrefix(key, a)) {
				return nil
			}
		}
		return apierror.BadRequest("The request body has the unknown field %q.", key)
	}
	keys := make([]string, 0, len(b.Form)+len(b.json))
	for k := range b.Form {
		keys = append(keys, k)
	}
	for k := range b.json {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := check(k); err != nil {
			return err
		}
	}
	return nil
}

// traits decodes the submitted traits, typed by the schema.
func (b *Body) Traits(sch *schema.Schema) (map[string]any, error) {
	if b.Form != nil {
		traits, err := sch.TraitsFromForm(b.Form)
		if err != nil {
			return nil, NumberError(err)
		}
		return traits, CheckLimits("traits", traits)
	}
	traits, err := sch.TraitsFromJSON(b.json)
	if err != nil {
		return nil, apierror.BadRequest("The traits could not be decoded: %v.", err)
	}
	return traits, CheckLimits("traits", traits)
}

// CheckLimits checks a decoded value that would be stored (the traits, a
// metadata object) against identity.DefaultLimits: a value over them is a
// 400 that names the limit.
func CheckLimits(what string, v any) error {
	if err := identity.DefaultLimits.Check(what, v); err != nil {
		return apierror.BadRequest("The %v. Send less.", err)
	}
	return nil
}

// checkNumbers refuses a decoded JSON request body (any JSON value, at any
// depth) that holds a number which is not a finite float64, such as 1e400:
// decoded with UseNumber it would pass validation and be stored, and then
// no later read of the record could decode it. It is the one check for every
// JSON body we take (readBody, the admin API, JSON Patch documents); form
// values typed as numbers get the same rule in schema.TraitsFromForm. The
// error is a 400 naming the number and where it is.
func CheckNumbers(v any) error {
	return NumberError(schema.CheckNumbers(v))
}

// numberErrorToHTTP turns a *schema.NumberError into a 400; other errors and
// nil are returned as they are.
func NumberError(err error) error {
	var ne *schema.NumberError
	if !errors.As(err, &ne) {
		return err
	}
	e := apierror.BadRequest("%s", ne.Error())
	e.Details = map[string]any{"field": ne.Field}
	return e
}
