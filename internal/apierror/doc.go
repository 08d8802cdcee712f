// Package apierror is the Kratos (herodot) error envelope: protocol errors
// with their status, id, reason and details, how store failures become
// 503, and which errors are answered as JSON whatever the caller.
package apierror
