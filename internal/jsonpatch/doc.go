// Package jsonpatch applies RFC 6902 JSON Patch documents to generic JSON
// values, with RFC 6901 JSON Pointers, for the admin API's PATCH.
package jsonpatch
