// Package reply writes the plain responses of the APIs: JSON bodies and
// redirects, never cached.
package reply
