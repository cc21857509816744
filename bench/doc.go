// Package bench holds side-by-side benchmarks of this library against the
// usual Go JWT/OIDC verifiers. It is a separate module so that those
// peers never become dependencies of github.com/idtokens/idtokens.
//
//	cd bench && go test -run x -bench . -benchmem -count 5
package bench
