package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/internal/storelog"
)

// SetLogger sends the go-redis client's own messages (a failed dial, a
// cluster slot moved) to l, each distinct message at most once per
// storelog.Interval, instead of to stderr once per failed
// request. go-redis has one logger per process, so the last call wins.
func SetLogger(l *zap.Logger) {
	sampled := storelog.Sampled(l)
	redis.SetLogger(clientLog{sampled})
	storeLog.Store(sampled)
}

// storeLog gets the store's own messages; nil until SetLogger.
var storeLog atomic.Pointer[zap.Logger]

// logCorrupt reports a record that could not be decoded, with its key.
func logCorrupt(key string, err error) {
	if l := storeLog.Load(); l != nil {
		l.Error("a stored record could not be decoded; it is left out", zap.String("key", key), zap.Error(err))
	}
}

// clientLog is the go-redis logging interface on a zap logger.
type clientLog struct{ l *zap.Logger }

func (c clientLog) Printf(_ context.Context, format string, v ...any) {
	c.l.Warn(fmt.Sprintf(format, v...))
}
