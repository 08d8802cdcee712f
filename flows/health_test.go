package flows

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// downPinger is a store whose readiness check fails.
type downPinger struct{ identity.Store }

func (downPinger) Ping(context.Context) error { return errors.New("dial tcp 10.0.0.1:6379: refused") }

func TestHealth(t *testing.T) {
	e := newFlowEnv(t)
	c := e.newClient(callerAPI)
	for _, path := range []string{"/health/alive", "/health/ready"} {
		if a := c.get(DefaultPublicPrefix + path); a.Code != http.StatusOK || strings.TrimSpace(a.Body.String()) != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", path, a.Code, a.Body)
		}
	}
	down := newFlowEnv(t, func(c *Config) { c.Store = downPinger{c.Store} })
	c = down.newClient(callerAPI)
	if a := c.get(DefaultPublicPrefix + "/health/alive"); a.Code != http.StatusOK {
		t.Errorf("alive asks the store: %d", a.Code)
	}
	a := c.get(DefaultPublicPrefix + "/health/ready")
	if a.Code != http.StatusServiceUnavailable || !strings.Contains(a.Body.String(), `"code":500`) ||
		!strings.Contains(a.Body.String(), "obfuscated") || strings.Contains(a.Body.String(), "10.0.0.1") {
		t.Errorf("ready with the store down: %d %s", a.Code, a.Body)
	}
}
