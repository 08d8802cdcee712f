package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxExactInteger is 2^53: every integer up to it in magnitude is a
// float64, exactly; beyond it, not every one is (2^53+1 reads as 2^53).
const maxExactInteger = 1 << 53

// BeyondFloat reports whether the JSON number n is an integer literal (no
// fraction, no exponent) greater than 2^53 in magnitude, which a float64
// may not hold exactly. Such a number is kept as a json.Number, wherever
// traits are decoded, so that it comes back as it was sent.
func BeyondFloat(n json.Number) bool {
	s := string(n)
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return err != nil || v > maxExactInteger || v < -maxExactInteger // err: beyond int64
}

// UnmarshalJSON decodes an identity record. The traits decode as
// encoding/json decodes any JSON value (numbers as float64), except
// integers beyond 2^53 (BeyondFloat), which stay json.Number: a stored
// 9007199254740993 reads back as 9007199254740993, not …992, and an
// ordinary number (36, 2.5) reads back as the float64 it always did.
func (i *Identity) UnmarshalJSON(data []byte) error {
	type record Identity // the fields without this method
	var r struct {
		record
		Traits json.RawMessage `json:"traits"` // shadows record.Traits
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	traits, err := decodeTraits(r.Traits)
	if err != nil {
		return err
	}
	*i = Identity(r.record)
	i.Traits = traits
	return nil
}

// decodeTraits decodes a traits object (or null) of a record.
func decodeTraits(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var traits map[string]any
	if err := dec.Decode(&traits); err != nil {
		return nil, err
	}
	if err := floatNumbers(traits); err != nil {
		return nil, err
	}
	return traits, nil
}

// floatNumbers replaces, inside v, every json.Number by its float64, but
// for the integers BeyondFloat keeps.
func floatNumbers(v any) error {
	set := func(x any, put func(any)) error {
		n, ok := x.(json.Number)
		if !ok {
			return floatNumbers(x)
		}
		if BeyondFloat(n) {
			return nil
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("json: cannot unmarshal number %s into Go value of type float64", n)
		}
		put(f)
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if err := set(x, func(f any) { v[k] = f }); err != nil {
				return err
			}
		}
	case []any:
		for j, x := range v {
			if err := set(x, func(f any) { v[j] = f }); err != nil {
				return err
			}
		}
	}
	return nil
}
