package courier

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// testSMTP is a real SMTP server (emersion/go-smtp) on a free loopback
// port, keeping the mails it accepts.
type testSMTP struct {
	Addr string

	mu       sync.Mutex
	mails    []*netmail.Message
	bodies   []string
	attempts int
	usedTLS  []bool
	// refuse, when set, answers the n-th DATA (from 1) with an error.
	refuse func(n int) *smtp.SMTPError
	// hold, when set, makes DATA wait until it is closed.
	hold chan struct{}
}

// startSMTP starts a server; withTLS makes it offer STARTTLS with a
// self-signed certificate.
func startSMTP(t *testing.T, withTLS bool) *testSMTP {
	t.Helper()
	ts := &testSMTP{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{srv: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

// URI is the server's smtp:// URI.
func (ts *testSMTP) URI() string { return "smtp://" + ts.Addr }

// Mails returns the accepted mails, parsed, and their bodies.
func (ts *testSMTP) Mails() ([]*netmail.Message, []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]*netmail.Message(nil), ts.mails...), append([]string(nil), ts.bodies...)
}

// Attempts is how many DATA commands the server saw.
func (ts *testSMTP) Attempts() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.attempts
}

type testSession struct {
	srv  *testSMTP
	conn *smtp.Conn
}

func (s *testSession) AuthMechanisms() []string             { return nil }
func (s *testSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *testSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *testSession) Reset()                               {}
func (s *testSession) Logout() error                        { return nil }

func (s *testSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ts := s.srv
	ts.mu.Lock()
	ts.attempts++
	n, refuse, hold := ts.attempts, ts.refuse, ts.hold
	ts.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if refuse != nil {
		if e := refuse(n); e != nil {
			return e
		}
	}
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(msg.Body)
	_, isTLS := s.conn.TLSConnectionState()
	ts.mu.Lock()
	ts.mails = append(ts.mails, msg)
	ts.bodies = append(ts.bodies, string(body))
	ts.usedTLS = append(ts.usedTLS, isTLS)
	ts.mu.Unlock()
	return nil
}

// selfSigned is a certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
