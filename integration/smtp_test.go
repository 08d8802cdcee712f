package integration

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server (emersion/go-smtp) on a free loopback
// port that keeps the mails it accepts, for the site's courier to send to.
type mailServer struct {
	addr string

	mu    sync.Mutex
	mails []sentMail
}

// sentMail is one accepted mail: its header and plain-text body.
type sentMail struct {
	To, Subject, Text string
}

func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	ms := &mailServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{srv: ms}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ms
}

// courier is the courier block of a site that sends to this server.
func (ms *mailServer) courier() string {
	return fmt.Sprintf("courier {\n\t\t\tsmtp smtp://%s\n\t\t\tfrom \"Test <no-reply@example.com>\"\n\t\t}", ms.addr)
}

// all returns the mails received so far.
func (ms *mailServer) all() []sentMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]sentMail(nil), ms.mails...)
}

// waitFor waits (bounded) until n mails arrived in all and returns them.
// The courier's worker polls about every second.
func (ms *mailServer) waitFor(t *testing.T, n int) []sentMail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := ms.all(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %d mails, got %d: %+v", n, len(ms.all()), ms.all())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var codeRe = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// code is the 6-digit code in a mail.
func (m sentMail) code(t *testing.T) string {
	t.Helper()
	c := codeRe.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in the mail to %s: %q", m.To, m.Text)
	}
	return c[1]
}

type mailSession struct{ srv *mailServer }

func (s *mailSession) AuthMechanisms() []string             { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }

func (s *mailSession) Data(r io.Reader) error {
	msg, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	text, err := plainText(msg.Header.Get("Content-Type"), msg.Body)
	if err != nil {
		return err
	}
	to := msg.Header.Get("To")
	if a, err := netmail.ParseAddress(to); err == nil {
		to = a.Address
	}
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, sentMail{To: to, Subject: subject, Text: text})
	s.srv.mu.Unlock()
	return nil
}

// plainText is the text/plain part of a mail body.
func plainText(contentType string, body io.Reader) (string, error) {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(media, "multipart/") {
		raw, err := io.ReadAll(body)
		return string(raw), err
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", fmt.Errorf("no text/plain part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			raw, err := io.ReadAll(p) // multipart.Reader decodes quoted-printable itself
			return string(raw), err
		}
	}
}
