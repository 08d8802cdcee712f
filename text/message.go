package text

// Message is a Kratos UI message: an id, a text and the values in the text.
type Message struct {
	ID      int            `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context,omitempty"`
}

// Message types.
const (
	Info    = "info"
	Error   = "error"
	Success = "success"
)
