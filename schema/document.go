package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// document is the schema JSON as decoded by us (not by the JSON Schema
// library): the generic value, and the key order of every object in it,
// which a Go map cannot keep.
type document struct {
	value any
	keys  map[string][]string // JSON pointer of an object -> its keys in document order
}

// parseDocument decodes raw with numbers kept as json.Number and records the
// key order of every object. Syntax errors carry a line and column.
func parseDocument(raw []byte) (*document, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	d := &document{keys: map[string][]string{}}
	v, err := d.parseValue(dec, "")
	if err != nil {
		return nil, positioned(raw, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("unexpected data after the top-level JSON value")
		}
		return nil, positioned(raw, dec, err)
	}
	d.value = v
	return d, nil
}

func (d *document) parseValue(dec *json.Decoder, ptr string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		var keys []string
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("object key is %v, not a string", kt)
			}
			v, err := d.parseValue(dec, ptr+"/"+escapeToken(k))
			if err != nil {
				return nil, err
			}
			if _, dup := obj[k]; !dup {
				keys = append(keys, k)
			}
			obj[k] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
		d.keys[ptr] = keys
		return obj, nil
	case json.Delim('['):
		arr := []any{}
		for i := 0; dec.More(); i++ {
			v, err := d.parseValue(dec, fmt.Sprintf("%s/%d", ptr, i))
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	default:
		return tok, nil
	}
}

// positioned adds "line L, column C" to a decoding error.
func positioned(raw []byte, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of JSON input")
	}
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	line, col := 1, 1
	for _, b := range raw[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
}

// escapeToken escapes one JSON pointer reference token (RFC 6901).
func escapeToken(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

// unescapeToken undoes escapeToken.
func unescapeToken(s string) string {
	s = strings.ReplaceAll(s, "~1", "/")
	return strings.ReplaceAll(s, "~0", "~")
}

// pointer joins path segments into a JSON pointer; the root is "".
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(escapeToken(p))
	}
	return b.String()
}

// libraryTokens splits a pointer as the JSON Schema library writes it
// (tokens escaped as in RFC 6901 and then URL path escaped) into segments.
// "" and "#" are the root.
func libraryTokens(p string) []string {
	p = strings.TrimPrefix(p, "#")
	if p == "" || p == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		if u, err := url.PathUnescape(part); err == nil {
			part = u
		}
		parts[i] = unescapeToken(part)
	}
	return parts
}

// locationPointer is the document pointer of a compiled schema's location
// ("https://x/y.json#/properties/a" -> "/properties/a").
func locationPointer(loc string) string {
	i := strings.IndexByte(loc, '#')
	if i < 0 {
		return ""
	}
	return pointer(libraryTokens(loc[i:]))
}
