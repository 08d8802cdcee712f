// Package webhook posts events (package events) to the URLs a site
// configures, as Kratos' web_hook after-hooks do, without ever holding up
// the request the event came from: events wait in a bounded queue, a few
// workers post them with a timeout per attempt and retry a failed post
// with backoff. When the queue is full, or the retries are spent, the
// event is dropped and logged (its name and identity id, nothing more).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/events"
)

// Hook is one configured web hook.
type Hook struct {
	// URL receives a POST with the event as JSON.
	URL string
	// Events are the event names posted (events.IdentityCreated, …);
	// empty means all.
	Events []string
	// Timeout bounds one attempt; Retries is how many failed attempts are
	// retried (1s, 2s, 4s… apart).
	Timeout time.Duration
	Retries int
	// Secret, when set, signs each body: X-Kratos-Signature is
	// "sha256=" and the hex HMAC-SHA256 of the body under Secret.
	Secret string
	// Blocking hooks are asked before the change is stored (Check), once,
	// while the user waits: an answer other than 2xx, or none within
	// Timeout, refuses it. Others are told after it happened (Emit).
	Blocking bool
}

// Body is what a hook receives.
type Body struct {
	Event      string    `json:"event"`
	Time       time.Time `json:"time"`
	IdentityID string    `json:"identity_id,omitempty"`
	SessionID  string    `json:"session_id,omitempty"`
	Flow       string    `json:"flow,omitempty"`
	Method     string    `json:"method,omitempty"`
	Changed    []string  `json:"changed,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}

// QueueSize bounds the events waiting to be posted; Workers post them.
const (
	QueueSize = 1000
	Workers   = 4
)

type job struct {
	hook *Hook
	body []byte
	name string
	id   string
}

// Sender posts events to hooks. It is an events.Sink.
type Sender struct {
	hooks  []Hook
	client *http.Client
	log    *zap.Logger
	queue  chan job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// wait is the pause before retry n (1, 2, …); tests shorten it.
	wait func(n int) time.Duration
}

// New starts a sender for hooks; Close stops it.
func New(hooks []Hook, log *zap.Logger) *Sender {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		hooks: hooks, log: log, queue: make(chan job, QueueSize), ctx: ctx, cancel: cancel,
		// No redirects: a hook answers where it is configured.
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		wait:   func(n int) time.Duration { return time.Second << min(n-1, 6) },
	}
	for range Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

// bodyOf is the JSON a hook receives for e.
func bodyOf(e events.Event) ([]byte, error) {
	return json.Marshal(Body{Event: e.Name, Time: e.Time.UTC(), IdentityID: e.IdentityID, SessionID: e.SessionID,
		Flow: e.Flow, Method: e.Method, Changed: e.Changed, Reason: e.Reason})
}

// wants reports whether the hook takes the event.
func (h *Hook) wants(name string) bool { return len(h.Events) == 0 || slices.Contains(h.Events, name) }

// Emit queues the event for every hook that wants it (but the blocking
// ones, which were asked before), at once.
func (s *Sender) Emit(_ context.Context, e events.Event) {
	body, err := bodyOf(e)
	if err != nil {
		return
	}
	for i := range s.hooks {
		h := &s.hooks[i]
		if h.Blocking || !h.wants(e.Name) {
			continue
		}
		select {
		case s.queue <- job{hook: h, body: body, name: e.Name, id: e.IdentityID}:
		default:
			s.log.Warn("web hook queue full: event dropped", zap.String("event", e.Name), zap.String("identity_id", e.IdentityID), zap.String("url", h.URL))
		}
	}
}

// Close stops the workers; posts in progress are cancelled and what is
// still queued is dropped.
func (s *Sender) Close() {
	s.cancel()
	s.wg.Wait()
	if n := len(s.queue); n > 0 {
		s.log.Warn("web hooks stopped with events still queued", zap.Int("dropped", n))
	}
}

func (s *Sender) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-s.queue:
			s.deliver(j)
		}
	}
}

// deliver posts one event, retrying as the hook says.
func (s *Sender) deliver(j job) {
	var err error
	for attempt := 0; attempt <= j.hook.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(s.wait(attempt)):
			}
		}
		if err = s.post(j); err == nil {
			return
		}
	}
	s.log.Warn("web hook failed; event dropped", zap.String("event", j.name), zap.String("identity_id", j.id),
		zap.String("url", j.hook.URL), zap.Int("attempts", j.hook.Retries+1), zap.Error(err))
}

// Check asks every blocking hook that wants the event, in turn, whether it
// may happen: an events.Refusal when one says no (with the text of the
// first message of a Kratos-style answer, {"messages":[{"messages":
// [{"text":…}]}]}, as its reason), another error when one cannot be asked.
func (s *Sender) Check(ctx context.Context, e events.Event) error {
	var body []byte
	for i := range s.hooks {
		h := &s.hooks[i]
		if !h.Blocking || !h.wants(e.Name) {
			continue
		}
		if body == nil {
			var err error
			if body, err = bodyOf(e); err != nil {
				return err
			}
		}
		status, answer, err := s.send(ctx, h, body)
		switch {
		case err != nil:
			return fmt.Errorf("blocking web hook %s: %w", h.URL, err)
		case status < 200 || status > 299:
			return &events.Refusal{Reason: refusalText(answer)}
		}
	}
	return nil
}

// refusalText is the first message text of a Kratos-style web hook answer.
func refusalText(answer []byte) string {
	var a struct {
		Messages []struct {
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		} `json:"messages"`
	}
	if json.Unmarshal(answer, &a) == nil {
		for _, m := range a.Messages {
			for _, t := range m.Messages {
				if t.Text != "" {
					return t.Text
				}
			}
		}
	}
	return ""
}

// post makes one attempt of a queued event: a 2xx answer within the
// timeout is success.
func (s *Sender) post(j job) error {
	status, _, err := s.send(s.ctx, j.hook, j.body)
	if err == nil && (status < 200 || status > 299) {
		err = fmt.Errorf("the hook answered %d", status)
	}
	return err
}

// send posts body to the hook within its timeout, and returns the answer's
// status and (at most 64 KiB of) its body.
func (s *Sender) send(ctx context.Context, h *Hook, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "caddy-kratos-webhook")
	if h.Secret != "" {
		mac := hmac.New(sha256.New, []byte(h.Secret))
		mac.Write(body)
		req.Header.Set("X-Kratos-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, answer, err
}
