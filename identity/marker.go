package identity

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Marked reports whether a store keeps only the flow's Marker once it has
// expired: login and registration flows, which anyone can start, so that
// anonymous traffic cannot keep whole flows for a day.
func Marked(f *Flow) bool {
	return f.Kind == KindLogin || f.Kind == KindRegistration
}

// Marker is what answering an expired flow needs, and all a store keeps of
// a Marked flow once it expired: the 410 (its expiry; the CSRF binding of
// a browser flow's fetch), the restart (return_to, refresh) and the
// replacement flow (its request URL).
func (f *Flow) Marker() *Flow {
	return &Flow{
		ID: f.ID, Kind: f.Kind, Type: f.Type,
		ExpiresAt:  time.Unix(0, f.ExpiresAt.UnixNano()).UTC(),
		RequestURL: f.RequestURL, ReturnTo: f.ReturnTo,
		CSRFTokenHash: f.CSRFTokenHash, Refresh: f.Refresh,
	}
}

// MarkerBase is the start of a flow's request URL that a store may keep
// once for many markers (EncodeMarker): everything up to and including
// "/self-service/", which is the same for every flow of a site.
func MarkerBase(f *Flow) string {
	u, _, _ := strings.Cut(f.RequestURL, "?")
	if i := strings.Index(u, "/self-service/"); i >= 0 {
		return f.RequestURL[:i+len("/self-service/")]
	}
	return ""
}

// The first byte of an encoded marker.
const (
	markerKindMask   = 0b11 // 1: login, 2: registration
	markerBrowser    = 1 << 2
	markerRefresh    = 1 << 3
	markerRelative   = 1 << 4 // the request URL follows base
	markerCSRFRaw    = 1 << 5 // the CSRF token hash as 32 bytes (it is 64 hex digits)
	markerCSRFString = 1 << 6 // the CSRF token hash as a length and its text
	markerReturnTo   = 1 << 7 // a return_to, as a length and its text
)

var markerKinds = [...]string{1: KindLogin, 2: KindRegistration}

// EncodeMarker is the compact binary form of f.Marker(), about 20 bytes
// for an API flow without return_to, so that a store can keep expired
// flows for a day at little cost. When f's request URL starts with base
// (MarkerBase), only the rest is kept, and DecodeMarker needs base back.
// It holds neither the id nor the type name of the record: the store
// keeps them by id.
func EncodeMarker(f *Flow, base string) []byte {
	var flags byte
	for code, kind := range markerKinds {
		if kind == f.Kind && kind != "" {
			flags = byte(code)
		}
	}
	if f.Type == TypeBrowser {
		flags |= markerBrowser
	}
	if f.Refresh {
		flags |= markerRefresh
	}
	url := f.RequestURL
	if rest, ok := strings.CutPrefix(url, base); ok && base != "" {
		flags, url = flags|markerRelative, rest
	}
	csrf, err := hex.DecodeString(f.CSRFTokenHash)
	switch {
	case err == nil && len(csrf) == 32 && hex.EncodeToString(csrf) == f.CSRFTokenHash:
		flags |= markerCSRFRaw
	case f.CSRFTokenHash != "":
		flags |= markerCSRFString
	}
	if f.ReturnTo != "" {
		flags |= markerReturnTo
	}
	b := make([]byte, 0, 1+8+len(url)+len(f.ReturnTo)+len(f.CSRFTokenHash)+4)
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(f.ExpiresAt.UnixNano()))
	switch {
	case flags&markerCSRFRaw != 0:
		b = append(b, csrf...)
	case flags&markerCSRFString != 0:
		b = appendString(b, f.CSRFTokenHash)
	}
	if flags&markerReturnTo != 0 {
		b = appendString(b, f.ReturnTo)
	}
	return append(b, url...)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errMarker = errors.New("not an encoded marker")

// DecodeMarker returns the marker of flow id that EncodeMarker encoded
// with base, as Marker returned it. A malformed one is ErrCorrupt.
func DecodeMarker(id string, b []byte, base string) (*Flow, error) {
	f, err := decodeMarker(b, base)
	if err != nil {
		return nil, fmt.Errorf("%w: flow %s: %v", ErrCorrupt, id, err)
	}
	f.ID = id
	return f, nil
}

func decodeMarker(b []byte, base string) (*Flow, error) {
	if len(b) < 9 {
		return nil, errMarker
	}
	flags := b[0]
	code := int(flags & markerKindMask)
	if code >= len(markerKinds) || markerKinds[code] == "" {
		return nil, errMarker
	}
	f := &Flow{Kind: markerKinds[code], Type: TypeAPI, Refresh: flags&markerRefresh != 0}
	if flags&markerBrowser != 0 {
		f.Type = TypeBrowser
	}
	f.ExpiresAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	rest := b[9:]
	var ok bool
	switch {
	case flags&markerCSRFRaw != 0:
		if len(rest) < 32 {
			return nil, errMarker
		}
		f.CSRFTokenHash, rest = hex.EncodeToString(rest[:32]), rest[32:]
	case flags&markerCSRFString != 0:
		if f.CSRFTokenHash, rest, ok = readString(rest); !ok {
			return nil, errMarker
		}
	}
	if flags&markerReturnTo != 0 {
		if f.ReturnTo, rest, ok = readString(rest); !ok {
			return nil, errMarker
		}
	}
	f.RequestURL = string(rest)
	if flags&markerRelative != 0 {
		f.RequestURL = base + f.RequestURL
	}
	return f, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n > uint64(len(b)-size) {
		return "", nil, false
	}
	return string(b[size : size+int(n)]), b[size+int(n):], true
}

// MarkerExpiresAt is the expiry of the flow whose marker EncodeMarker
// encoded as b, without decoding the rest.
func MarkerExpiresAt(b []byte) (time.Time, bool) {
	if len(b) < 9 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))), true
}
