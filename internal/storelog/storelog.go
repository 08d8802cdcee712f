package storelog

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Interval is how often one message about a failing store
// is logged at most. During an outage every request fails the same way;
// a line per request would bury the log and cost the requests time.
const Interval = 10 * time.Second

// Sampled is l for messages about store failures: each message
// (by its text and level) is written once per Interval, the
// repeats within the interval are dropped.
func Sampled(l *zap.Logger) *zap.Logger {
	return l.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, Interval, 1, 0)
	}))
}
