package integration

import (
	"context"
	"net/url"
	"slices"
	"testing"
)

// The session management endpoints through the official SDK: its request
// building and strict decoding of ListMySessions, DisableMySession,
// DisableMyOtherSessions and the admin ListSessions, on both stores.
func TestSDKSessionManagement(t *testing.T) {
	for _, store := range []string{"redis", "memory"} {
		t.Run(store, func(t *testing.T) {
			s := startStore(t, store, "")
			ctx := context.Background()
			fe := sdkClient(s.kratos(), sdkNativeHTTP(t)).FrontendAPI
			email := "sdk-sessions-" + store + "@example.com"
			const password = "correct horse battery"
			reg := sdkRegister(t, fe, map[string]any{"email": email, "name": map[string]any{"first": "Grace", "last": "Hopper"}}, password)
			current := reg.GetSessionToken()
			second := sdkNativeLogin(t, fe, email, password)
			third := sdkNativeLogin(t, fe, email, password)

			list, res, err := fe.ListMySessions(ctx).XSessionToken(current).Execute()
			sdkOK(t, "ListMySessions", res, err, 200)
			var ids []string
			for _, sess := range list {
				ids = append(ids, sess.Id)
				if sess.Identity == nil || sess.Identity.Id != reg.Identity.Id || len(sess.Devices) == 0 || sess.Devices[0].GetIpAddress() == "" {
					t.Errorf("listed session %s: identity %v, devices %+v", sess.Id, sess.Identity, sess.Devices)
				}
			}
			if want := []string{third.Session.Id, second.Session.Id}; !slices.Equal(ids, want) {
				t.Fatalf("ListMySessions: %v, want the other sessions newest first %v", ids, want)
			}
			list, res, err = fe.ListMySessions(ctx).XSessionToken(current).PageSize(1).Execute()
			sdkOK(t, "ListMySessions page_size 1", res, err, 200)
			if len(list) != 1 || res.Header.Get("X-Total-Count") != "2" || res.Header.Get("Link") == "" {
				t.Errorf("page of 1: %d sessions, X-Total-Count %q, Link %q", len(list), res.Header.Get("X-Total-Count"), res.Header.Get("Link"))
			}

			res, err = fe.DisableMySession(ctx, second.Session.Id).XSessionToken(current).Execute()
			sdkOK(t, "DisableMySession", res, err, 204)
			_, res, err = fe.ToSession(ctx).XSessionToken(second.GetSessionToken()).Execute()
			sdkErr(t, "ToSession with the disabled session", res, err, 401)
			res, err = fe.DisableMySession(ctx, reg.Session.Id).XSessionToken(current).Execute()
			sdkErr(t, "DisableMySession(current)", res, err, 400)

			count, res, err := fe.DisableMyOtherSessions(ctx).XSessionToken(current).Execute()
			sdkOK(t, "DisableMyOtherSessions", res, err, 200)
			if count.GetCount() != 2 {
				t.Errorf("DisableMyOtherSessions count %d, want 2 (as Kratos: every other session)", count.GetCount())
			}
			_, res, err = fe.ToSession(ctx).XSessionToken(third.GetSessionToken()).Execute()
			sdkErr(t, "ToSession with a disabled session", res, err, 401)
			_, res, err = fe.ToSession(ctx).XSessionToken(current).Execute()
			sdkOK(t, "ToSession with the current session", res, err, 200)

			// The admin list, page by page through its Link header.
			adm := sdkClient(s.admin, sdkNativeHTTP(t)).IdentityAPI
			mine := map[string]bool{}
			req := adm.ListSessions(ctx).PageSize(2).Expand([]string{"identity", "devices"})
			for range 100 {
				page, res, err := req.Execute()
				sdkOK(t, "ListSessions", res, err, 200)
				for _, sess := range page {
					if sess.Identity != nil && sess.Identity.Id == reg.Identity.Id {
						mine[sess.Id] = sess.GetActive()
					}
					if sess.Identity == nil || len(sess.Devices) == 0 {
						t.Errorf("expanded session %s without identity or devices", sess.Id)
					}
				}
				next := linkRel(res.Header.Get("Link"), "next")
				if next == "" {
					break
				}
				u, err := url.Parse(next)
				if err != nil {
					t.Fatal(err)
				}
				req = adm.ListSessions(ctx).PageSize(2).PageToken(u.Query().Get("page_token")).Expand([]string{"identity", "devices"})
			}
			want := map[string]bool{reg.Session.Id: true, second.Session.Id: false, third.Session.Id: false}
			for id, active := range want {
				if got, ok := mine[id]; !ok || got != active {
					t.Errorf("admin list: session %s listed %v active %v, want active %v", id, ok, got, active)
				}
			}
			inactive, res, err := adm.ListSessions(ctx).Active(false).Execute()
			sdkOK(t, "ListSessions active=false", res, err, 200)
			for _, sess := range inactive {
				if sess.GetActive() {
					t.Errorf("active=false listed active session %s", sess.Id)
				}
			}
		})
	}
}
