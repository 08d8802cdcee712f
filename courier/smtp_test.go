package courier

import (
	"mime"
	"mime/multipart"
	"strings"
	"testing"
)

func TestNewSMTPErrors(t *testing.T) {
	for _, c := range []struct{ uri, from, want string }{
		{"http://mail.example.com", "a@example.com", `scheme "http"`},
		{"smtp://", "a@example.com", "no host"},
		{"smtp://mail.example.com:99999", "a@example.com", "not a port"},
		{"smtp://mail.example.com/x", "a@example.com", "unexpected path"},
		{"smtp://mail.example.com?disable_starttls=true", "a@example.com", `unknown parameter "disable_starttls"`},
		{"smtp://:s3cret@mail.example.com", "a@example.com", "without a user name"},
		{"smtp://mail.example.com", "", "from: required"},
		{"smtp://user:s3cret@mail.example.com", "Example no-reply", "is not an address"},
	} {
		_, err := NewSMTP(c.uri, c.from)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSMTP(%q, %q) = %v; want an error with %q", c.uri, c.from, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewSMTP(%q): the error shows the password: %v", c.uri, err)
		}
	}
	for _, ok := range []string{"smtp://user:pass@mail.example.com:587", "smtps://mail.example.com", "smtp://127.0.0.1:25/?skip_ssl_verify=true"} {
		if _, err := NewSMTP(ok, "Example <no-reply@example.com>"); err != nil {
			t.Errorf("NewSMTP(%q): %v", ok, err)
		}
	}
}

// TestSMTPSend sends through a real SMTP server, once to a local relay
// without TLS and once to a server that offers STARTTLS, and reads the
// mail as a mail client would.
func TestSMTPSend(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		srv := startSMTP(t, withTLS)
		uri := srv.URI()
		if withTLS {
			uri += "?skip_ssl_verify=true" // the test certificate is self-signed
		}
		s, err := NewSMTP(uri, "Example <no-reply@example.com>")
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(t.Context(), Mail{MessageID: "m-1", To: "ada@example.com", Rendered: Rendered{
			Subject: "Recover access to your account", Text: "Hi,\n\n123456\n", HTML: "<p>123456</p>",
		}})
		if err != nil {
			t.Fatalf("tls %v: Send: %v", withTLS, err)
		}
		mails, bodies := srv.Mails()
		if len(mails) != 1 {
			t.Fatalf("tls %v: the server got %d mails", withTLS, len(mails))
		}
		if srv.usedTLS[0] != withTLS {
			t.Errorf("the session used TLS: %v; want %v (STARTTLS exactly when offered)", srv.usedTLS[0], withTLS)
		}
		h := mails[0].Header
		for k, want := range map[string]string{
			"From": `"Example" <no-reply@example.com>`, "To": "<ada@example.com>",
			"Subject": "Recover access to your account", "Message-Id": "<m-1@example.com>",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil || mt != "multipart/alternative" {
			t.Fatalf("Content-Type %q: want multipart/alternative", h.Get("Content-Type"))
		}
		r := multipart.NewReader(strings.NewReader(bodies[0]), params["boundary"])
		var types []string
		for {
			p, err := r.NextPart()
			if err != nil {
				break
			}
			ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			types = append(types, ct)
		}
		if strings.Join(types, ",") != "text/plain,text/html" {
			t.Errorf("parts %v, want text/plain then text/html", types)
		}
	}
}
