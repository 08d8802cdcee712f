package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testMessages covers the courier's queue: queueing, claims and their
// lease, settling, the list and what stays stored after delivery.
func (s *suite) testMessages(t *testing.T) {
	t.Run("Queue", s.testQueueMessage)
	t.Run("ClaimAndSettle", s.testClaimAndSettle)
	t.Run("LeaseExpires", s.testLeaseExpires)
	t.Run("Retry", s.testRetryMessage)
	t.Run("List", s.testListMessages)
}

// newMessage is a verification mail carrying code.
func newMessage(code string) *identity.Message {
	return &identity.Message{
		Recipient:    "ada@example.com",
		TemplateType: identity.TemplateVerificationCodeValid,
		TemplateData: map[string]any{"VerificationCode": code, "RequestURL": "https://example.com/flow"},
		Lang:         "de",
	}
}

// claim claims up to 10 messages for worker, failing the test on an error.
func claim(t *testing.T, st identity.Store, worker string, lease time.Duration) []*identity.Message {
	t.Helper()
	got, err := st.ClaimMessages(t.Context(), worker, 10, lease)
	if err != nil {
		t.Fatalf("ClaimMessages(%s): %v", worker, err)
	}
	return got
}

// wantClaimed fails the test unless got is exactly the message id, claimed
// for the sendCount-th time.
func wantClaimed(t *testing.T, what string, got []*identity.Message, id string, sendCount int) {
	t.Helper()
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("%s: claimed %d messages %v, want only %s", what, len(got), messageIDs(got), id)
	}
	if m := got[0]; m.Status != identity.MessageProcessing || m.SendCount != sendCount {
		t.Fatalf("%s: status %q, send_count %d; want processing, %d", what, m.Status, m.SendCount, sendCount)
	}
}

func messageIDs(ms []*identity.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func (s *suite) testQueueMessage(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	for _, bad := range []*identity.Message{
		{TemplateType: identity.TemplateRecoveryCodeValid},
		{Recipient: "ada@example.com", TemplateType: "no_such_template"},
		{ID: "not-a-uuid", Recipient: "ada@example.com", TemplateType: identity.TemplateRecoveryCodeValid},
	} {
		if err := st.QueueMessage(ctx, bad); err == nil {
			t.Errorf("QueueMessage(%+v) succeeded, want an error", bad)
		}
	}
	m := newMessage("123456")
	wantErr(t, "QueueMessage", st.QueueMessage(ctx, m), nil)
	if !identity.WellFormedID(m.ID) || m.Status != identity.MessageQueued || m.Type != identity.MessageTypeEmail || m.CreatedAt.IsZero() {
		t.Fatalf("QueueMessage left %+v; want an id, status queued, type email, created_at", m)
	}
	got, err := st.GetMessage(ctx, m.ID)
	wantErr(t, "GetMessage", err, nil)
	wantJSON(t, "the stored message", jsonOf(t, m), got)

	again := *m
	wantErr(t, "QueueMessage(same id)", st.QueueMessage(ctx, &again), identity.ErrExists)
	_, err = st.GetMessage(ctx, identity.NewID())
	wantErr(t, "GetMessage(unknown)", err, identity.ErrNotFound)
	wantErr(t, "SettleMessage(unknown)", st.SettleMessage(ctx, identity.NewID(), identity.Delivery{Status: identity.MessageSent}), identity.ErrNotFound)
}

func (s *suite) testClaimAndSettle(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	m := newMessage("424242")
	wantErr(t, "QueueMessage", st.QueueMessage(ctx, m), nil)

	got := claim(t, st, "a", time.Hour)
	wantClaimed(t, "worker a", got, m.ID, 1)
	if got[0].TemplateData["VerificationCode"] != "424242" {
		t.Fatalf("claimed message lacks its template data: %+v", got[0].TemplateData)
	}
	if again := claim(t, st, "b", time.Hour); len(again) != 0 {
		t.Fatalf("worker b claimed %v, held by worker a", messageIDs(again))
	}

	wantErr(t, "SettleMessage(sent)", st.SettleMessage(ctx, m.ID, identity.Delivery{Status: identity.MessageSent, Subject: "Please verify your email address"}), nil)
	sent, err := st.GetMessage(ctx, m.ID)
	wantErr(t, "GetMessage", err, nil)
	if sent.Status != identity.MessageSent || sent.Subject != "Please verify your email address" || sent.SendCount != 1 {
		t.Errorf("after sending: status %q, subject %q, send_count %d", sent.Status, sent.Subject, sent.SendCount)
	}
	if sent.TemplateData != nil {
		t.Errorf("a sent message keeps its template data: %v", sent.TemplateData)
	}
	if len(sent.Dispatches) != 1 || sent.Dispatches[0].Status != identity.DispatchSuccess || sent.Dispatches[0].MessageID != m.ID {
		t.Errorf("dispatches after sending: %+v; want one success", sent.Dispatches)
	}

	// A late report (a worker whose lease had passed) changes nothing.
	wantErr(t, "SettleMessage(late)", st.SettleMessage(ctx, m.ID, identity.Delivery{Status: identity.MessageQueued, Error: "late"}), nil)
	if late, _ := st.GetMessage(ctx, m.ID); late.Status != identity.MessageSent || len(late.Dispatches) != 1 {
		t.Errorf("a late report changed the sent message: %+v", late)
	}
	if again := claim(t, st, "b", 0); len(again) != 0 {
		t.Fatalf("a sent message was claimed again: %v", messageIDs(again))
	}
	if s.opts.Dump != nil {
		if dump := s.opts.Dump(t, st); strings.Contains(dump, "424242") {
			t.Errorf("the code of a sent message is still stored:\n%s", dump)
		}
	}
}

func (s *suite) testLeaseExpires(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	m := newMessage("111111")
	wantErr(t, "QueueMessage", st.QueueMessage(ctx, m), nil)

	// Worker a claims and dies: it never reports.
	wantClaimed(t, "worker a", claim(t, st, "a", short), m.ID, 1)
	if got := claim(t, st, "b", short); len(got) != 0 {
		t.Fatalf("worker b claimed %v within a's lease", messageIDs(got))
	}
	s.waitPast()
	wantClaimed(t, "worker b after a's lease", claim(t, st, "b", short), m.ID, 2)
	wantErr(t, "SettleMessage", st.SettleMessage(ctx, m.ID, identity.Delivery{Status: identity.MessageSent}), nil)
	s.waitPast()
	if got := claim(t, st, "c", short); len(got) != 0 {
		t.Fatalf("a settled message was claimed again: %v", messageIDs(got))
	}
}

func (s *suite) testRetryMessage(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	m := newMessage("222222")
	wantErr(t, "QueueMessage", st.QueueMessage(ctx, m), nil)
	wantClaimed(t, "first claim", claim(t, st, "a", time.Hour), m.ID, 1)

	failure := identity.Delivery{Status: identity.MessageQueued, RetryIn: short, Error: "451 try again later"}
	wantErr(t, "SettleMessage(retry)", st.SettleMessage(ctx, m.ID, failure), nil)
	queued, err := st.GetMessage(ctx, m.ID)
	wantErr(t, "GetMessage", err, nil)
	if queued.Status != identity.MessageQueued || queued.TemplateData["VerificationCode"] != "222222" {
		t.Fatalf("after a failed attempt: status %q, template data %v; want queued with its data", queued.Status, queued.TemplateData)
	}
	if len(queued.Dispatches) != 1 || queued.Dispatches[0].Status != identity.DispatchFailed || queued.Dispatches[0].Error != failure.Error {
		t.Fatalf("dispatches after a failed attempt: %+v", queued.Dispatches)
	}
	if got := claim(t, st, "a", time.Hour); len(got) != 0 {
		t.Fatalf("claimed %v before its retry is due", messageIDs(got))
	}
	s.waitPast()
	wantClaimed(t, "claim when the retry is due", claim(t, st, "b", time.Hour), m.ID, 2)

	wantErr(t, "SettleMessage(abandoned)", st.SettleMessage(ctx, m.ID, identity.Delivery{Status: identity.MessageAbandoned, Error: "550 no such user"}), nil)
	gone, err := st.GetMessage(ctx, m.ID)
	wantErr(t, "GetMessage", err, nil)
	if gone.Status != identity.MessageAbandoned || gone.TemplateData != nil || len(gone.Dispatches) != 2 {
		t.Errorf("after abandoning: status %q, template data %v, %d dispatches", gone.Status, gone.TemplateData, len(gone.Dispatches))
	}
	if s.opts.Dump != nil {
		if dump := s.opts.Dump(t, st); strings.Contains(dump, "222222") {
			t.Errorf("the code of an abandoned message is still stored:\n%s", dump)
		}
	}
	if err := st.SettleMessage(ctx, m.ID, identity.Delivery{Status: "lost"}); err == nil {
		t.Error("SettleMessage(status lost) succeeded, want an error")
	}
}

func (s *suite) testListMessages(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	var ids []string // oldest first
	for i := range 5 {
		m := newMessage("33333" + string(rune('0'+i)))
		wantErr(t, "QueueMessage", st.QueueMessage(ctx, m), nil)
		ids = append(ids, m.ID)
		s.opts.Wait(2 * time.Millisecond) // distinct creation times
	}
	claimed := claim(t, st, "a", time.Hour)
	if len(claimed) != 5 || claimed[0].ID != ids[0] {
		t.Fatalf("claimed %v; want all five, oldest first (%v)", messageIDs(claimed), ids)
	}
	wantErr(t, "SettleMessage", st.SettleMessage(ctx, ids[1], identity.Delivery{Status: identity.MessageSent}), nil)
	wantErr(t, "SettleMessage", st.SettleMessage(ctx, ids[3], identity.Delivery{Status: identity.MessageSent}), nil)

	// Every message, two to a page, newest first.
	var got []string
	after := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("the pages do not end")
		}
		p, err := st.ListMessages(ctx, identity.MessageQuery{After: after, Limit: 2})
		wantErr(t, "ListMessages", err, nil)
		if p.Total != 5 {
			t.Errorf("page %d: total %d, want 5", page, p.Total)
		}
		for _, m := range p.Messages {
			if len(m.Dispatches) != 0 {
				t.Errorf("a listed message has its dispatches: %+v", m)
			}
			got = append(got, m.ID)
		}
		if p.Next == "" {
			break
		}
		if !identity.WellFormedMessageCursor(p.Next) {
			t.Fatalf("next cursor %q is not well formed", p.Next)
		}
		after = p.Next
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want newest first %v", got, want)
	}

	sent, err := st.ListMessages(ctx, identity.MessageQuery{Status: identity.MessageSent, Limit: 10})
	wantErr(t, "ListMessages(sent)", err, nil)
	if sent.Total != 2 || strings.Join(messageIDs(sent.Messages), ",") != ids[3]+","+ids[1] || sent.Next != "" {
		t.Errorf("sent: total %d, %v, next %q; want %v", sent.Total, messageIDs(sent.Messages), sent.Next, []string{ids[3], ids[1]})
	}
	count, err := st.ListMessages(ctx, identity.MessageQuery{Status: identity.MessageProcessing})
	wantErr(t, "ListMessages(count)", err, nil)
	if count.Total != 3 || len(count.Messages) != 0 {
		t.Errorf("processing, limit 0: total %d, %d messages; want 3, none", count.Total, len(count.Messages))
	}
}
