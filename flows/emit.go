package flows

import (
	"context"
	"errors"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/text"
	"go.uber.org/zap"
)

// gate asks the configured Gate whether what e describes may happen, and
// returns the message the flow shows when it may not; nil when it may. A
// gate that cannot be asked (a hook that does not answer) refuses too, so
// the error is only ever a refusal.
func (s *Service) gate(ctx context.Context, e events.Event) *text.Message {
	e.Time = s.cfg.Now()
	err := s.cfg.Gate.Check(ctx, e)
	if err == nil {
		return nil
	}
	reason := "This request could not be completed right now. Please try again later."
	var refused *events.Refusal
	if errors.As(err, &refused) && refused.Reason != "" {
		reason = refused.Reason
	} else {
		s.cfg.Logger.Warn("a blocking web hook failed; the flow was refused", zap.String("event", e.Name), zap.Error(err))
	}
	m := text.Generic(reason)
	return &m
}

// Emit hands an event to the configured sink (Caddy's event system, web
// hooks), stamped with the service's clock. The admin API emits through it
// too.
func (s *Service) Emit(ctx context.Context, e events.Event) {
	e.Time = s.cfg.Now()
	s.cfg.Events.Emit(ctx, e)
}
