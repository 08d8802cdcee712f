package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/identity"
)

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		log  string
	}{
		{BadRequest("no"), http.StatusBadRequest, ""},
		{fmt.Errorf("get: %w", identity.ErrNotFound), http.StatusNotFound, ""},
		{fmt.Errorf("store: %w: bad json", identity.ErrCorrupt), http.StatusInternalServerError, "a stored record could not be decoded; answering 500"},
		{errors.New("dial tcp: connection refused"), http.StatusServiceUnavailable, "identity store failed; answering 503"},
	} {
		core, logs := observer.New(zap.DebugLevel)
		e := From(tc.err, zap.New(core))
		if e.Code != tc.code {
			t.Errorf("From(%v) = %d, want %d", tc.err, e.Code, tc.code)
		}
		switch {
		case tc.log == "" && logs.Len() != 0:
			t.Errorf("From(%v) logged %v", tc.err, logs.All())
		case tc.log != "" && (logs.Len() != 1 || logs.All()[0].Message != tc.log):
			t.Errorf("From(%v) logged %v, want %q", tc.err, logs.All(), tc.log)
		}
	}
}
