// Package depcheck holds no code: its test enforces the module's
// dependency graph and budget (see DESIGN.md) with `go list`.
package depcheck
