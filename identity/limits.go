package identity

import (
	"encoding/json"
	"fmt"
)

// Limits bound what a client can make an identity hold, so that every stored
// record can be read back by every store: Go's JSON decoder and Redis' Lua
// cjson both refuse documents nested deeper than they allow, and an
// unbounded record exhausts the store. The flows and the admin API check
// traits and metadata against them before anything is validated or stored.
type Limits struct {
	// MaxDepth is how deeply objects and arrays may nest, the value itself
	// being level 1.
	MaxDepth int
	// MaxBytes is the largest JSON encoding of the traits, and of each
	// metadata object.
	MaxBytes int
	// MaxString is the longest string, in bytes, anywhere in them.
	MaxString int
}

// DefaultLimits are the limits unless configured otherwise.
var DefaultLimits = Limits{MaxDepth: 32, MaxBytes: 64 << 10, MaxString: 16 << 10}

// LimitError says which limit a value broke; it is the client's fault.
type LimitError struct {
	What, Why string
}

func (e *LimitError) Error() string { return e.What + " " + e.Why }

// Check checks v, a decoded JSON value named what ("traits",
// "metadata_public"), against the limits.
func (l Limits) Check(what string, v any) error {
	if why := l.walk(v, 1); why != "" {
		return &LimitError{What: what, Why: why}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return &LimitError{What: what, Why: "cannot be encoded as JSON"}
	}
	if len(raw) > l.MaxBytes {
		return &LimitError{What: what, Why: fmt.Sprintf("take %d bytes as JSON, more than the %d allowed", len(raw), l.MaxBytes)}
	}
	return nil
}

func (l Limits) walk(v any, depth int) string {
	if depth > l.MaxDepth {
		return fmt.Sprintf("are nested deeper than the %d levels allowed", l.MaxDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if len(k) > l.MaxString {
				return fmt.Sprintf("have a key longer than the %d bytes allowed", l.MaxString)
			}
			if why := l.walk(x, depth+1); why != "" {
				return why
			}
		}
	case []any:
		for _, x := range v {
			if why := l.walk(x, depth+1); why != "" {
				return why
			}
		}
	case string:
		if len(v) > l.MaxString {
			return fmt.Sprintf("hold a string longer than the %d bytes allowed", l.MaxString)
		}
	}
	return ""
}
