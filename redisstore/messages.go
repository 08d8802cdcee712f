package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// The courier's queue. Every key of it carries the hash tag {courier}, so
// the stream, the records and the indexes are in one cluster slot and each
// step is one script:
//
//	<p>:{courier}:stream            Stream of due messages (field "id"), consumer group "workers"
//	<p>:{courier}:message:<id>      hash: the message (fields below), expires MessageRetention after it was queued
//	<p>:{courier}:retry             sorted set of message ids waiting for a retry, scored by due time (ms, Redis' clock)
//	<p>:{courier}:index             sorted set, score 0, of MessageCursor of every message (the newest-first list)
//	<p>:{courier}:index:<status>    the same, of the messages with that status
//
// A worker claims with XREADGROUP (new entries) and XAUTOCLAIM (entries
// another worker has held longer than the lease: its instance died), and
// acknowledges (XACK, XDEL) only when it settles the message, after the
// SMTP server accepted it or the attempt failed. A failed attempt goes to
// the retry set; the claim script moves due retries back to the stream.
//
// The hash's fields: id, type, recipient, template_type, subject,
// created_at, updated_at (RFC 3339), status, send_count, cursor, data (the
// template data JSON, deleted once sent or abandoned), dispatches (JSON
// array), entry (the stream entry while the message is in the stream).

// courierGroup is the consumer group of the workers.
const courierGroup = "workers"

func (k keys) courier() string       { return k.tag("courier") }
func (k keys) courierStream() string { return k.courier() + "stream" }
func (k keys) courierRetry() string  { return k.courier() + "retry" }
func (k keys) courierIndex(st string) string {
	if st == "" {
		return k.courier() + "index"
	}
	return k.courier() + "index:" + st
}
func (k keys) message(id string) string { return k.courier() + "message:" + id }

// QueueMessage implements identity.Messages in one round trip.
func (s *Store) QueueMessage(ctx context.Context, m *identity.Message) error {
	if err := identity.PrepareMessage(m, time.Now()); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	data, err := json.Marshal(m.TemplateData)
	if err != nil {
		return fmt.Errorf("redisstore: encode message: %w", err)
	}
	created := m.CreatedAt.Format(time.RFC3339Nano)
	cutoff := identity.MessageCursor(&identity.Message{CreatedAt: m.CreatedAt.Add(-identity.MessageRetention)})
	err = queueMessageScript.Run(ctx, s.client, []string{
		s.keys.message(m.ID), s.keys.courierStream(), s.keys.courierIndex(""),
		s.keys.courierIndex(identity.MessageQueued), s.keys.courierIndex(identity.MessageProcessing),
		s.keys.courierIndex(identity.MessageSent), s.keys.courierIndex(identity.MessageAbandoned),
	},
		m.ID, m.Type, m.Recipient, m.TemplateType, created, identity.MessageCursor(m), data,
		pxat(m.CreatedAt.Add(identity.MessageRetention)), "("+cutoff[:13], m.Lang,
	).Err()
	if err != nil && strings.Contains(err.Error(), "EXISTS") {
		return identity.ErrExists
	}
	return wrap("queue message", err)
}

// queueMessageScript stores a new message, indexes it, adds it to the stream and
// drops index entries past the retention.
var queueMessageScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('EXISTS') end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'type', ARGV[2], 'recipient', ARGV[3], 'template_type', ARGV[4],
  'created_at', ARGV[5], 'updated_at', ARGV[5], 'status', 'queued', 'send_count', 0, 'cursor', ARGV[6], 'data', ARGV[7],
  'lang', ARGV[10])
redis.call('PEXPIREAT', KEYS[1], ARGV[8])
for i = 3, 7 do redis.call('ZREMRANGEBYLEX', KEYS[i], '-', ARGV[9]) end
redis.call('ZADD', KEYS[3], 0, ARGV[6])
redis.call('ZADD', KEYS[4], 0, ARGV[6])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1])
return 1
`)

// ClaimMessages implements identity.Messages in one round trip. The lease
// is measured by Redis (XAUTOCLAIM's idle time), on its own clock.
func (s *Store) ClaimMessages(ctx context.Context, worker string, n int, lease time.Duration) ([]*identity.Message, error) {
	if n <= 0 {
		return nil, nil
	}
	res, err := claimMessagesScript.Run(ctx, s.client, []string{
		s.keys.courierStream(), s.keys.courierRetry(),
		s.keys.courierIndex(identity.MessageQueued), s.keys.courierIndex(identity.MessageProcessing),
	}, s.keys.message(""), courierGroup, worker, n, max(lease.Milliseconds(), 1), time.Now().UTC().Format(time.RFC3339Nano)).Slice()
	if err != nil {
		return nil, wrap("claim messages", err)
	}
	out := make([]*identity.Message, 0, len(res))
	for _, r := range res {
		fields, _ := r.([]any)
		m, err := messageFromHash(pairs(fields), true)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// claimMessagesScript moves due retries to the stream, then claims up to n entries:
// those idle longer than the lease (XAUTOCLAIM), then new ones
// (XREADGROUP). Entries of messages that are gone or settled are dropped.
// It returns each claimed message's hash as field/value pairs.
var claimMessagesScript = redis.NewScript(luaNow + `
local stream, retry, queued, processing = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mprefix, group, consumer, n, lease, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', retry, '-inf', now_ms(), 'LIMIT', 0, n)) do
  redis.call('ZREM', retry, id)
  if redis.call('EXISTS', mprefix .. id) == 1 then redis.call('XADD', stream, '*', 'id', id) end
end
if redis.call('EXISTS', stream) == 0 then return {} end
pcall(redis.call, 'XGROUP', 'CREATE', stream, group, '0')
local out = {}
local function take(entries)
  for _, e in ipairs(entries) do
    if type(e) == 'table' and type(e[2]) == 'table' then
      local key = mprefix .. e[2][2]
      local st = redis.call('HGET', key, 'status')
      if st == 'queued' or st == 'processing' then
        local cursor = redis.call('HGET', key, 'cursor')
        redis.call('ZREM', queued, cursor)
        redis.call('ZADD', processing, 0, cursor)
        redis.call('HSET', key, 'status', 'processing', 'updated_at', now, 'entry', e[1])
        redis.call('HINCRBY', key, 'send_count', 1)
        out[#out + 1] = redis.call('HGETALL', key)
      else
        redis.call('XACK', stream, group, e[1])
        redis.call('XDEL', stream, e[1])
      end
    end
  end
end
local idle = redis.call('XAUTOCLAIM', stream, group, consumer, lease, '0-0', 'COUNT', n)
take(idle[2])
if #out < n then
  local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', n - #out, 'STREAMS', stream, '>')
  if fresh then take(fresh[1][2]) end
end
return out
`)

// SettleMessage implements identity.Messages in one round trip.
func (s *Store) SettleMessage(ctx context.Context, id string, d identity.Delivery) error {
	if err := identity.ValidDelivery(d); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	if !identity.WellFormedID(id) {
		return identity.ErrNotFound
	}
	now := time.Now()
	probe := &identity.Message{ID: id}
	identity.AddDispatch(probe, d, now)
	dispatch, err := json.Marshal(probe.Dispatches[0])
	if err != nil {
		return fmt.Errorf("redisstore: encode dispatch: %w", err)
	}
	err = settleMessageScript.Run(ctx, s.client, []string{
		s.keys.message(id), s.keys.courierStream(), s.keys.courierRetry(),
		s.keys.courierIndex(identity.MessageProcessing), s.keys.courierIndex(d.Status),
	}, courierGroup, d.Status, d.RetryIn.Milliseconds(), d.Subject, dispatch,
		now.UTC().Round(0).Format(time.RFC3339Nano), identity.MaxDispatches, id).Err()
	if err != nil && strings.Contains(err.Error(), "NOTFOUND") {
		return identity.ErrNotFound
	}
	return wrap("settle message", err)
}

// settleMessageScript acknowledges the message's stream entry, records the
// dispatch and moves the message to its new status (and index); a retry
// goes to the retry set, a final status drops the template data.
var settleMessageScript = redis.NewScript(luaNow + `
local key, stream, retry, processing, target = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, status, retry_ms, subject, dispatch, now, keep, id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
local st = redis.call('HGET', key, 'status')
if not st then return redis.error_reply('NOTFOUND') end
if st ~= 'processing' then return 0 end
local entry = redis.call('HGET', key, 'entry')
if entry then
  redis.call('XACK', stream, group, entry)
  redis.call('XDEL', stream, entry)
  redis.call('HDEL', key, 'entry')
end
local cursor = redis.call('HGET', key, 'cursor')
redis.call('ZREM', processing, cursor)
redis.call('ZADD', target, 0, cursor)
local list = {}
local old = redis.call('HGET', key, 'dispatches')
if old then
  local ok, v = pcall(cjson.decode, old)
  if ok and type(v) == 'table' then list = v end
end
list[#list + 1] = cjson.decode(dispatch)
while #list > keep do table.remove(list, 1) end
redis.call('HSET', key, 'status', status, 'updated_at', now, 'dispatches', cjson.encode(list))
if subject ~= '' then redis.call('HSET', key, 'subject', subject) end
if status == 'queued' then
  redis.call('ZADD', retry, now_ms() + retry_ms, id)
else
  redis.call('HDEL', key, 'data')
end
return 1
`)

// ListMessages implements identity.Messages: the page's cursors and the
// total in one round trip, the records in a second. Index entries whose
// record has expired are dropped on the way.
func (s *Store) ListMessages(ctx context.Context, q identity.MessageQuery) (identity.MessagePage, error) {
	index := s.keys.courierIndex(q.Status)
	var page identity.MessagePage
	var cursors *redis.StringSliceCmd
	var total *redis.IntCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		total = p.ZCard(ctx, index)
		if q.Limit > 0 {
			start := "+"
			if q.After != "" {
				start = "(" + q.After
			}
			cursors = p.ZRevRangeByLex(ctx, index, &redis.ZRangeBy{Max: start, Min: "-", Count: int64(q.Limit)})
		}
		return nil
	})
	if err != nil {
		return page, wrap("list messages", err)
	}
	page.Total = int(total.Val())
	if cursors == nil || len(cursors.Val()) == 0 {
		return page, nil
	}
	list := cursors.Val()
	hashes := make([]*redis.MapStringStringCmd, len(list))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range list {
			_, id, _ := strings.Cut(c, ":")
			hashes[i] = p.HGetAll(ctx, s.keys.message(id))
		}
		return nil
	})
	if err != nil {
		return page, wrap("list messages", err)
	}
	var gone []any
	for i, h := range hashes {
		if len(h.Val()) == 0 {
			gone = append(gone, list[i])
			continue
		}
		m, err := messageFromHash(h.Val(), false)
		if err != nil {
			continue // a list leaves out what it cannot decode
		}
		m.Dispatches = nil
		page.Messages = append(page.Messages, m)
	}
	if len(gone) > 0 {
		s.client.ZRem(ctx, index, gone...)
		page.Total -= len(gone)
	}
	if len(list) == q.Limit {
		page.Next = list[len(list)-1]
	}
	return page, nil
}

// GetMessage implements identity.Messages.
func (s *Store) GetMessage(ctx context.Context, id string) (*identity.Message, error) {
	if !identity.WellFormedID(id) {
		return nil, identity.ErrNotFound
	}
	h, err := s.client.HGetAll(ctx, s.keys.message(id)).Result()
	if err != nil {
		return nil, wrap("get message", err)
	}
	if len(h) == 0 {
		return nil, identity.ErrNotFound
	}
	return messageFromHash(h, true)
}

// pairs turns HGETALL's field/value list (as a script returns it) into a
// map.
func pairs(list []any) map[string]string {
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		v, _ := list[i+1].(string)
		m[k] = v
	}
	return m
}

// messageFromHash decodes a message's hash.
func messageFromHash(h map[string]string, withDispatches bool) (*identity.Message, error) {
	corrupt := func(what string, err error) error {
		return fmt.Errorf("redisstore: %w: message %s: %s: %v", identity.ErrCorrupt, h["id"], what, err)
	}
	m := &identity.Message{
		ID: h["id"], Status: h["status"], Type: h["type"], Recipient: h["recipient"],
		Subject: h["subject"], TemplateType: h["template_type"], Lang: h["lang"],
	}
	var err error
	if m.SendCount, err = strconv.Atoi(h["send_count"]); err != nil {
		return nil, corrupt("send_count", err)
	}
	if m.CreatedAt, err = time.Parse(time.RFC3339Nano, h["created_at"]); err != nil {
		return nil, corrupt("created_at", err)
	}
	if m.UpdatedAt, err = time.Parse(time.RFC3339Nano, h["updated_at"]); err != nil {
		return nil, corrupt("updated_at", err)
	}
	if data, ok := h["data"]; ok && data != "null" {
		if err := json.Unmarshal([]byte(data), &m.TemplateData); err != nil {
			return nil, corrupt("data", err)
		}
	}
	if d, ok := h["dispatches"]; ok && withDispatches {
		if err := json.Unmarshal([]byte(d), &m.Dispatches); err != nil {
			return nil, corrupt("dispatches", err)
		}
	}
	return m, nil
}
