// Package bench holds the benchmarks that compare idtokens with what users
// would pick instead, in one process, on the same tokens and keys. It is a
// separate module so that the competitors never become dependencies of
// github.com/idtokens/idtokens. See BENCHMARKS.md at the repository root.
package bench
