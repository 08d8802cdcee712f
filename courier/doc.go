// Package courier delivers the mail that flows queue in the store
// (identity.Messages): a Worker in each Caddy instance claims due messages,
// renders them from their templates (templates.go, built-ins under
// templates/) and hands them to a Sender: SMTP (smtp.go) or the
// development Mailbox (mailbox.go). Failed attempts are retried with
// backoff; a message that keeps failing, or that the mail server refuses
// for good (5xx), is abandoned.
//
// It knows SMTP and templates; it knows neither Caddy nor Redis. Flows only
// ever call the store's QueueMessage; nothing waits on a mail server.
package courier
