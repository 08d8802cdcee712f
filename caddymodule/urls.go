package caddymodule

import (
	"fmt"
	"net/url"
	"strings"
)

// checkAbsoluteURL accepts an absolute http or https URL with a host.
func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: expected an absolute http:// or https:// URL", raw)
	}
	return nil
}

// checkURLOrPath accepts "" (unset), an absolute http(s) URL, or a path on
// this site ("/welcome", not the protocol-relative "//host/...").
func checkURLOrPath(raw string) error {
	if raw == "" {
		return nil
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
			return fmt.Errorf("%q: expected an absolute http(s) URL or a path starting with a single \"/\"", raw)
		}
		if _, err := url.Parse(raw); err != nil {
			return fmt.Errorf("%q: expected an absolute http(s) URL or a path starting with \"/\": %v", raw, err)
		}
		return nil
	}
	if checkAbsoluteURL(raw) != nil {
		return fmt.Errorf("%q: expected an absolute http(s) URL or a path starting with \"/\"", raw)
	}
	return nil
}

// checkPublicURL accepts a site's base URL: scheme and host, with no path
// other than "/", no query and no fragment.
func checkPublicURL(raw string) error {
	if err := checkAbsoluteURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: expected only a scheme and a host (and port), like https://app.example.com", raw)
	}
	return nil
}
