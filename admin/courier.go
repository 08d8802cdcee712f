package admin

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/seed06f30684/caddy-kratos/courier"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// Option configures an API.
type Option func(*API)

// WithMailbox lets the admin API show message bodies and serve /mailbox:
// mailbox returns the development mailbox of the API's store, or nil while
// none is configured (it is asked on every request, as the courier that
// owns it may be provisioned after this API).
func WithMailbox(mailbox func() *courier.Mailbox) Option {
	return func(s *API) { s.mailbox = mailbox }
}

// redactedBody is what the admin API shows instead of a message body
// without the development mailbox, as Kratos does outside dev mode.
const redactedBody = "<redacted-unless-dev-mode>"

// courierDefaultPageSize is Kratos' default page size of the message list.
const courierDefaultPageSize = 10

// wireMessage is a courier message as Kratos' admin API shows it.
type wireMessage struct {
	ID           string         `json:"id"`
	Status       string         `json:"status"`
	Type         string         `json:"type"`
	Channel      string         `json:"channel"`
	Recipient    string         `json:"recipient"`
	Subject      string         `json:"subject"`
	Body         string         `json:"body"`
	TemplateType string         `json:"template_type"`
	SendCount    int            `json:"send_count"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Dispatches   []wireDispatch `json:"dispatches,omitempty"`
}

type wireDispatch struct {
	ID        string            `json:"id"`
	MessageID string            `json:"message_id"`
	Status    string            `json:"status"`
	Error     map[string]string `json:"error,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// currentMailbox is the development mailbox, or nil.
func (s *API) currentMailbox() *courier.Mailbox {
	if s.mailbox == nil {
		return nil
	}
	return s.mailbox()
}

// messageJSON is m's wire form; the body only from the development mailbox.
func (s *API) messageJSON(m *identity.Message, box *courier.Mailbox) wireMessage {
	w := wireMessage{
		ID: m.ID, Status: m.Status, Type: m.Type, Channel: m.Type, Recipient: m.Recipient, Subject: m.Subject,
		Body: redactedBody, TemplateType: m.TemplateType, SendCount: m.SendCount,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if box != nil {
		w.Body, _ = box.Body(m.ID)
	}
	for _, d := range m.Dispatches {
		wd := wireDispatch{ID: d.ID, MessageID: d.MessageID, Status: d.Status, CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt}
		if d.Error != "" {
			wd.Error = map[string]string{"message": d.Error}
		}
		w.Dispatches = append(w.Dispatches, wd)
	}
	return w
}

// adminListMessages answers GET /admin/courier/messages: newest first,
// ?status= one of queued, processing, sent, abandoned; page_size and
// page_token with a Link header, and X-Total-Count.
func (s *API) adminListMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !slices.Contains(identity.MessageStatuses, status) {
		return apierror.BadRequest("Message status is not valid")
	}
	size := courierDefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return apierror.BadRequest("The page_size %q is not a positive integer.", v)
		}
		size = min(n, adminMaxPageSize)
	}
	after := ""
	if t := q.Get("page_token"); t != "" {
		dec, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !identity.WellFormedMessageCursor(string(dec)) {
			return apierror.BadRequest("The page token is invalid, do not craft your own page tokens")
		}
		after = string(dec)
	}
	page, err := s.cfg.Store.ListMessages(r.Context(), identity.MessageQuery{Status: status, After: after, Limit: size})
	if err != nil {
		return err
	}
	link := adminPageLink(r, size, "", "first")
	if page.Next != "" {
		link += "," + adminPageLink(r, size, base64.RawURLEncoding.EncodeToString([]byte(page.Next)), "next")
	}
	w.Header().Set("Link", link)
	w.Header().Set("X-Total-Count", strconv.Itoa(page.Total))
	box := s.currentMailbox()
	out := make([]wireMessage, 0, len(page.Messages))
	for _, m := range page.Messages {
		out = append(out, s.messageJSON(m, box))
	}
	reply.NoCache(w)
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// adminGetMessage answers GET /admin/courier/messages/{id}, with the
// message's dispatches.
func (s *API) adminGetMessage(w http.ResponseWriter, r *http.Request, id string) error {
	if !identity.WellFormedID(id) {
		return apierror.BadRequest("The message id %q is not a UUID.", id)
	}
	m, err := s.cfg.Store.GetMessage(r.Context(), id)
	if errors.Is(err, identity.ErrNotFound) {
		return apierror.ResourceNotFound()
	}
	if err != nil {
		return err
	}
	reply.NoCache(w)
	reply.JSON(w, http.StatusOK, s.messageJSON(m, s.currentMailbox()))
	return nil
}

// mailboxPage lists the development mailbox, newest first.
var mailboxPage = template.Must(template.New("mailbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mailbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ccc;border-radius:.4rem;padding:.5rem 1rem;margin:1rem 0}
pre{white-space:pre-wrap}small{color:#666}</style></head>
<body><h1>Mailbox</h1>
<p>The mails of the development courier target (<code>mailbox</code>), newest first. Nothing here was sent.</p>
{{ range . }}<article>
<h2>{{ .Subject }}</h2>
<p><small>To {{ .To }} · {{ .TemplateType }} · {{ .At.Format "2006-01-02 15:04:05 MST" }} · message {{ .MessageID }}</small></p>
<pre>{{ .Text }}</pre>
</article>
{{ else }}<p>No mail yet.</p>
{{ end }}</body></html>
`))

// serveMailbox answers GET /mailbox: the development mailbox as a page;
// 404 when none is configured.
func (s *API) serveMailbox(w http.ResponseWriter, r *http.Request) error {
	box := s.currentMailbox()
	if box == nil {
		return apierror.NotFound("The mailbox is off; configure the courier with mailbox to keep mail here.")
	}
	reply.NoCache(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return mailboxPage.Execute(w, box.Mails())
}
