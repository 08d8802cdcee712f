package flows

import (
	"bytes"
	"encoding/json"
)

// jsonEqual compares two generic JSON values by their encoding.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
