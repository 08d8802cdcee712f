// Package codes is the one-time code method of verification and recovery
// (Kratos' `code` method): making codes, keeping only their keyed hashes,
// checking them once within a flow's lifespan and attempt limit, and the
// state of the verifiable addresses they are sent to. It knows neither HTTP
// nor a particular store.
//
// A code is 6 random digits. A million values are easy to try offline
// against a plain hash, so the store keeps an HMAC-SHA256 of the flow id and
// the code, keyed with the site's secret when it configures one (kept
// outside the store, so a copy of the store alone reveals no code), else
// with a random key kept in the store (shared by every instance, which
// protects codes only as well as the store itself).
package codes
