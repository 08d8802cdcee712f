package flows

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// callCountingStore counts the store calls a page makes.
type callCountingStore struct {
	identity.Store
	calls atomic.Int32
}

func (c *callCountingStore) GetSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	c.calls.Add(1)
	return c.Store.GetSession(ctx, token)
}

func (c *callCountingStore) ViewSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	c.calls.Add(1)
	return c.Store.ViewSession(ctx, token)
}

func (c *callCountingStore) GetSessionAndFlow(ctx context.Context, token, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	c.calls.Add(1)
	return c.Store.GetSessionAndFlow(ctx, token, flowID)
}

func (c *callCountingStore) GetFlow(ctx context.Context, id string) (*identity.Flow, error) {
	c.calls.Add(1)
	return c.Store.GetFlow(ctx, id)
}

func (c *callCountingStore) SaveFlow(ctx context.Context, f *identity.Flow) error {
	c.calls.Add(1)
	return c.Store.SaveFlow(ctx, f)
}

func (c *callCountingStore) UpdateSession(ctx context.Context, s *identity.Session) error {
	c.calls.Add(1)
	return c.Store.UpdateSession(ctx, s)
}

func (c *callCountingStore) GetIdentity(ctx context.Context, id string) (*identity.Identity, error) {
	c.calls.Add(1)
	return c.Store.GetIdentity(ctx, id)
}

// The settings page is read as often as a page of the site: it costs one
// store round trip (session, identity and flow together) and writes nothing,
// its sign-out link included.
func TestUISettingsPageIsOneStoreRead(t *testing.T) {
	var store *callCountingStore
	env := newFlowEnv(t, withSchema(uiTestSchema), func(c *Config) {
		store = &callCountingStore{Store: c.Store}
		c.Store = store
	})
	b := env.newClient(callerBrowser)
	b.register("grace@example.com", "Grace", "Hopper")
	_, at := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath)
	for range 3 {
		store.calls.Store(0)
		again := b.get(at)
		if again.Code != http.StatusOK || !strings.Contains(again.Body.String(), "/self-service/logout?token=") {
			t.Fatalf("settings page again: %d\n%s", again.Code, again.Body)
		}
		if n := store.calls.Load(); n != 1 {
			t.Errorf("the settings page made %d store calls, want 1", n)
		}
	}
}
