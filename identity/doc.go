// Package identity is the domain of caddy-kratos: identities, sessions,
// self-service flows and their forms, the ids and tokens that name them,
// and the store contract, split into small role interfaces (store.go).
//
// It depends on nothing else of the project. Every other package points
// toward it: the stores (memstore, redisstore) implement its interfaces,
// and the flows, the admin API and the built-in UI work on its records.
package identity
