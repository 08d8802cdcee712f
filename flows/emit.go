package flows

import (
	"context"

	"github.com/seed06f30684/caddy-kratos/events"
)

// Emit hands an event to the configured sink (Caddy's event system, web
// hooks), stamped with the service's clock. The admin API emits through it
// too.
func (s *Service) Emit(ctx context.Context, e events.Event) {
	e.Time = s.cfg.Now()
	s.cfg.Events.Emit(ctx, e)
}
