// Package negotiate decides whether a caller wants JSON or HTML.
package negotiate
