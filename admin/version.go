package admin

import "runtime/debug"

// modulePath is this project's Go module.
const modulePath = "github.com/seed06f30684/caddy-kratos"

// Version is the build's version of this module, as GET /admin/version
// reports it: the module version a Caddy build (xcaddy) pinned, or
// "master" for a build of the repository itself, as Kratos says for
// builds without a version.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "master"
	}
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
			if m.Replace != nil {
				return "master"
			}
			return m.Version
		}
	}
	return "master"
}
