package schema

import (
	"strings"
	"testing"
)

// TestFiniteNumberBoundsText: numbers whose text no float64 needs (a huge
// exponent, hundreds of digits) are refused, because comparing them
// exactly costs milliseconds each; ordinary ones are not.
func TestFiniteNumberBoundsText(t *testing.T) {
	for s, ok := range map[string]bool{
		"36":                            true,
		"-2.5e10":                       true,
		"1e-400":                        true, // reads as 0
		"1E+308":                        true,
		"9007199254740993":              true,
		"1e-999999":                     false,
		"1e999999999999999999999":       false,
		"0." + strings.Repeat("0", 500): false,
		"1e400":                         false, // beyond float64
	} {
		if _, got := FiniteNumber(s); got != ok {
			t.Errorf("FiniteNumber(%.40q) = %v, want %v", s, got, ok)
		}
	}
}
