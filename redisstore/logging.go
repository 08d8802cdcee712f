package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/internal/storelog"
)

// SetLogger sends the go-redis client's own messages (a failed dial, a
// cluster slot moved) to l, each distinct message at most once per
// storelog.Interval, instead of to stderr once per failed
// request. go-redis has one logger per process, so the last call wins.
func SetLogger(l *zap.Logger) {
	redis.SetLogger(clientLog{storelog.Sampled(l)})
}

// clientLog is the go-redis logging interface on a zap logger.
type clientLog struct{ l *zap.Logger }

func (c clientLog) Printf(_ context.Context, format string, v ...any) {
	c.l.Warn(fmt.Sprintf(format, v...))
}
