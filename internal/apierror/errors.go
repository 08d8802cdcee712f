package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// Error is a protocol error, answered in the Kratos (herodot) error envelope.
// Fields next to `error` in the envelope (redirect_browser_to, use_flow_id,
// expired_at, since) come from the matching fields here.
type Error struct {
	ID      string
	Code    int
	Reason  string
	Message string
	Details map[string]any

	RedirectBrowserTo string
	UseFlowID         string
	ExpiredAt         time.Time
	Since             time.Duration
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Message + ": " + e.Reason
	}
	return e.Message
}

// errorBody is the envelope's inner `error` object.
type Body struct {
	ID      string         `json:"id,omitempty"`
	Code    int            `json:"code"`
	Status  string         `json:"status"`
	Request string         `json:"request,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Message string         `json:"message"`
}

// errorEnvelope is the JSON body of an error response.
type Envelope struct {
	Error             Body       `json:"error"`
	RedirectBrowserTo string     `json:"redirect_browser_to,omitempty"`
	UseFlowID         string     `json:"use_flow_id,omitempty"`
	ExpiredAt         *time.Time `json:"expired_at,omitempty"`
	Since             int64      `json:"since,omitempty"`
}

func (e *Error) Envelope(requestID string) Envelope {
	env := Envelope{
		Error: Body{
			ID: e.ID, Code: e.Code, Status: http.StatusText(e.Code), Request: requestID,
			Reason: e.Reason, Details: e.Details, Message: e.Message,
		},
		RedirectBrowserTo: e.RedirectBrowserTo,
		UseFlowID:         e.UseFlowID,
		Since:             int64(e.Since),
	}
	if !e.ExpiredAt.IsZero() {
		t := e.ExpiredAt.UTC()
		env.ExpiredAt = &t
	}
	return env
}

// defaultMessages are herodot's messages per status.
var DefaultMessages = map[int]string{
	http.StatusBadRequest:            "The request was malformed or contained invalid parameters",
	http.StatusUnauthorized:          "The request could not be authorized",
	http.StatusForbidden:             "The requested action was forbidden",
	http.StatusNotFound:              "The requested resource could not be found",
	http.StatusMethodNotAllowed:      "The requested method is not allowed for this resource",
	http.StatusConflict:              "The resource could not be created due to a conflict",
	http.StatusGone:                  "The requested resource is no longer available because it has expired or is otherwise invalid.",
	http.StatusPreconditionFailed:    "The resource was changed since it was read",
	http.StatusRequestEntityTooLarge: "The request body is too large",
	http.StatusUnsupportedMediaType:  "The request body has an unsupported content type",
	http.StatusServiceUnavailable:    "The service is temporarily unavailable, please try again later",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusInternalServerError:   "An internal server error occurred, please contact the system administrator",
}

// newError returns an Error with the status' default message.
func New(code int, reason string, args ...any) *Error {
	if len(args) > 0 {
		reason = fmt.Sprintf(reason, args...)
	}
	return &Error{Code: code, Reason: reason, Message: DefaultMessages[code]}
}

func BadRequest(reason string, args ...any) *Error {
	return New(http.StatusBadRequest, reason, args...)
}

func NotFound(reason string, args ...any) *Error {
	return New(http.StatusNotFound, reason, args...)
}

func Forbidden(reason string, args ...any) *Error {
	return New(http.StatusForbidden, reason, args...)
}

func SessionInactive() *Error {
	e := New(http.StatusUnauthorized, "No valid session credentials found in the request.")
	e.ID = "session_inactive"
	e.Message = "request does not have a valid authentication session"
	return e
}

func SessionAlreadyAvailable() *Error {
	e := BadRequest("A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?")
	e.ID = "session_already_available"
	return e
}

func IdentityMismatch() *Error {
	e := Forbidden("The request was initiated by someone else and has been blocked for security reasons. Please go back and try again.")
	e.ID = "security_identity_mismatch"
	return e
}

func ReturnToForbidden(to string) *Error {
	e := BadRequest("Requested return_to URL %q is not allowed.", to)
	e.ID = "self_service_flow_return_to_forbidden"
	return e
}

func RefreshRequired(redirectTo string) *Error {
	e := Forbidden("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
	e.ID = "session_refresh_required"
	e.RedirectBrowserTo = redirectTo
	return e
}

func FlowExpired(f *identity.Flow, now time.Time, useFlowID string) *Error {
	since := now.Sub(f.ExpiresAt)
	e := New(http.StatusGone, "The self-service flow expired %.2f minutes ago, initialize a new one.", since.Minutes())
	e.ID = "self_service_flow_expired"
	e.Message = "self-service flow expired"
	e.ExpiredAt = f.ExpiresAt
	e.Since = since
	e.UseFlowID = useFlowID
	return e
}

// FlowGone is the 410 of a fetch of an expired flow (Kratos' x.ErrGone):
// the reason says how to start again and details where; no replacement
// flow, no expired_at or since, and no id (callers that have one add it).
func FlowGone(reason string, details map[string]any) *Error {
	e := New(http.StatusGone, "%s", reason)
	e.Details = details
	return e
}

func Unavailable() *Error {
	return New(http.StatusServiceUnavailable, "The identity store could not be reached. Please try again in a moment.")
}

func FlowIDMissing() *Error {
	return BadRequest("The flow query parameter is missing or malformed.")
}

// From turns any error into a protocol error. Protocol errors pass through;
// identity.ErrNotFound is Kratos' 404; identity.ErrCorrupt is an internal
// fault (500), logged as such; anything else is a store failure,
// logged to storeLog and answered with 503.
func From(err error, storeLog *zap.Logger) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, identity.ErrNotFound) {
		return ResourceNotFound()
	}
	if errors.Is(err, identity.ErrCorrupt) {
		storeLog.Error("a stored record could not be decoded; answering 500", zap.Error(err))
		return New(http.StatusInternalServerError, "A stored record could not be read.")
	}
	storeLog.Error("identity store failed; answering 503", zap.Error(err))
	return Unavailable()
}

// TooManyRequests answers a caller over a limit; wait is how long until it
// is not.
func TooManyRequests(wait time.Duration) *Error {
	e := New(http.StatusTooManyRequests, "Too many attempts. Try again in %s.", roundWait(wait))
	e.ID = "too_many_requests"
	return e
}

// roundWait shows a wait in whole seconds or minutes.
func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", max(1, int(d.Round(time.Second)/time.Second)))
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// ResourceNotFound is Kratos' 404 for a missing record.
func ResourceNotFound() *Error {
	e := NotFound("")
	e.Message = "Unable to locate the resource"
	return e
}

// Write answers with the error envelope, as JSON.
func Write(w http.ResponseWriter, r *http.Request, e *Error) {
	reply.NoCache(w)
	if e.ID != "" {
		w.Header().Set("Ory-Error-Id", e.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e.Envelope(r.Header.Get("X-Request-ID")))
}

// jsonError is an error that is answered with the JSON envelope whatever
// the caller: API flows and JSON-only endpoints.
type jsonError struct{ error }

func (e jsonError) Unwrap() error { return e.error }

// AsJSON marks err to be answered with the JSON envelope, never with the
// error UI. Nil stays nil.
func AsJSON(err error) error {
	if err == nil {
		return nil
	}
	return jsonError{err}
}

// IsJSON reports whether err was marked by AsJSON, and returns the error
// inside.
func IsJSON(err error) (error, bool) {
	if j, ok := err.(jsonError); ok {
		return j.error, true
	}
	return err, false
}

// ProfileAccess answers every failed public fetch of a legacy profile
// request alike (an unknown id, another identity's), so ids cannot be
// probed.
var ProfileAccess = Forbidden("Access privileges are missing, invalid, or not sufficient to access this endpoint.")
