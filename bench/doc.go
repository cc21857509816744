// Package bench holds the benchmarks that compare idtokens with what users
// would pick instead — the usual Go JWT/OIDC verifiers and token caches —
// in one process, on the same tokens and keys. It is a separate module so
// that those peers never become dependencies of github.com/idtokens/idtokens.
// See BENCHMARKS.md at the repository root.
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 10
package bench
