// Package flows is the self-service public API, wire-compatible with Ory
// Kratos v1.3.1 and with the legacy (v0.1) profile API: whoami, login,
// registration, settings, the legacy profile requests, logout, stored
// errors and the identity schema, for browser, SPA and native callers.
//
// Each flow is one file with one small type (loginFlow in login.go, ...)
// over what they share: the life of a flow (lifecycle.go), the settings
// state machine (statemachine.go, with address changes held until the new
// address is verified in addresschange.go), sessions (sessions.go),
// cookies and CSRF (cookies.go, csrf.go). routes.go is the route table.
package flows
