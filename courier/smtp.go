package courier

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// SendTimeout bounds one SMTP conversation: connecting, TLS, sending.
const SendTimeout = 30 * time.Second

// SMTP sends mail through an SMTP server with go-mail: a new connection per
// mail, STARTTLS whenever the server offers it (smtp://) or implicit TLS
// (smtps://).
type SMTP struct {
	host       string
	opts       []mail.Option
	from       *netmail.Address
	fromDomain string
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns a Sender for a connection URI and a From address.
//
//	smtp://[user:password@]host[:port]    port 587 by default; STARTTLS when the server
//	                                      offers it, plain text only toward a server that
//	                                      offers none (a local relay)
//	smtps://[user:password@]host[:port]   port 465 by default; implicit TLS
//	?skip_ssl_verify=true                 accept any server certificate (testing only)
//
// from is an address, with or without a name: "Example <no-reply@example.com>".
// Errors say what is wrong and what is expected; they never include the
// password.
func NewSMTP(uri, from string) (*SMTP, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("smtp: not a URL; expected smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	var port int
	opts := []mail.Option{mail.WithTimeout(SendTimeout)}
	switch u.Scheme {
	case "smtp":
		port = 587
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "smtps":
		port = 465
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("smtp: scheme %q: expected smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("smtp: no host; expected %s://host:port", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("smtp: port %q is not a port number", p)
		}
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("smtp: unexpected path %q; expected %s://host:port", u.Path, u.Scheme)
	}
	skipVerify := false
	for k, v := range u.Query() {
		switch {
		case k == "skip_ssl_verify" && len(v) == 1 && (v[0] == "true" || v[0] == "false"):
			skipVerify = v[0] == "true"
		default:
			return nil, fmt.Errorf("smtp: unknown parameter %q; the only one is skip_ssl_verify=true", k)
		}
	}
	opts = append(opts, mail.WithPort(port), mail.WithTLSConfig(&tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: skipVerify, //nolint:gosec // only when asked for, for test relays
	}))
	if u.User != nil {
		user := u.User.Username()
		pass, _ := u.User.Password()
		if user == "" {
			return nil, fmt.Errorf("smtp: a password without a user name; expected %s://user:pass@host", u.Scheme)
		}
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(pass))
	}
	if from == "" {
		return nil, fmt.Errorf(`from: required; expected an address such as "Example <no-reply@example.com>"`)
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf(`from: %q is not an address; expected e.g. "Example <no-reply@example.com>" or no-reply@example.com`, from)
	}
	_, domain, _ := strings.Cut(addr.Address, "@")
	// Check the options now, so that a bad one fails the config, not
	// every mail.
	if _, err := mail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTP{host: host, opts: opts, from: addr, fromDomain: domain}, nil
}

// Send implements Sender: one SMTP conversation for m.
func (s *SMTP) Send(ctx context.Context, m Mail) error {
	msg := mail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return &PermanentError{Err: errors.New("the recipient is not a valid address")}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID + "@" + s.fromDomain)
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, SendTimeout)
	defer cancel()
	return c.DialAndSendWithContext(ctx, msg)
}

// PermanentError is a failure that sending again will not cure.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports whether err is a permanent failure: a PermanentError,
// or an SMTP reply with a 5xx code.
func Permanent(err error) bool {
	var p *PermanentError
	if errors.As(err, &p) {
		return true
	}
	var se *mail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}

// smtpCode is err's SMTP reply code, or 0.
func smtpCode(err error) int {
	var se *mail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}

// addressLike matches what looks like a mail address.
var addressLike = regexp.MustCompile(`[^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)

// maxErrorLen bounds the error text a dispatch keeps.
const maxErrorLen = 300

// describe is err as a dispatch and a log may show it: every address
// replaced by "<address>" (the server may quote the recipient), at most
// maxErrorLen bytes.
func describe(err error) string {
	s := addressLike.ReplaceAllString(err.Error(), "<address>")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "…"
	}
	return s
}
