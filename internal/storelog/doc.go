// Package storelog samples log lines about a failing store, so an outage
// logs one line per interval rather than one per request.
package storelog
