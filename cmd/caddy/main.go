// Command caddy is the custom Caddy build that xcaddy would generate for this
// repository: the standard modules plus the kratos handler.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/seed06f30684/caddy-kratos/caddymodule"
)

func main() {
	caddycmd.Main()
}
