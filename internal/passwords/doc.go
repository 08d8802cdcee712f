// Package passwords hashes new passwords (bcrypt), checks passwords against
// their hash (bcrypt, or an imported argon2id hash) and holds the password
// policy.
package passwords
