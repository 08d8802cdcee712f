// Package body decodes self-service request bodies (JSON, URL-encoded and
// multipart forms), bounded in size, into the fields a flow reads; errors
// are 4xx protocol errors.
package body
