package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const module = "github.com/idtokens/idtokens"

// Budgets from DESIGN.md: third-party packages compiled (go list -deps,
// non-test), for verify alone and for the whole library.
const (
	verifyBudget  = 20
	libraryBudget = 30
)

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// load runs `go list -deps -json ./...` from the module root and returns
// every package by import path, and the module's own packages in order.
func load(t *testing.T) (map[string]*pkg, []string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed")
	}
	cmd := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	all := map[string]*pkg{}
	var own []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = &p
		if isOwn(p.ImportPath) {
			own = append(own, p.ImportPath)
		}
	}
	sort.Strings(own)
	return all, own
}

func isOwn(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func isExample(path string) bool { return strings.HasPrefix(rel(path), "examples/") }

// thirdParty returns the non-standard, non-module packages among deps.
func thirdParty(all map[string]*pkg, deps []string) []string {
	var out []string
	for _, d := range deps {
		if p := all[d]; p != nil && !p.Standard && !isOwn(d) {
			out = append(out, d)
		}
	}
	return out
}

// ownDeps returns the module's packages (relative paths) among deps.
func ownDeps(deps []string) []string {
	var out []string
	for _, d := range deps {
		if isOwn(d) {
			out = append(out, rel(d))
		}
	}
	return out
}

func TestDependencyGraph(t *testing.T) {
	t.Parallel()
	all, own := load(t)
	acquisition := []string{"keyfile", "metadata", "impersonate", "federation", "gcloud", "signin"}
	for _, path := range own {
		p := all[path]
		name := rel(path)
		deps := ownDeps(p.Deps)

		// Nothing but examples imports the façade.
		if name != "idtoken" && !isExample(path) && slices.Contains(deps, "idtoken") {
			t.Errorf("%s imports idtoken: the façade only composes, nothing depends on it", name)
		}
		switch name {
		case "keyfile", "metadata", "impersonate", "federation":
			for _, d := range deps {
				if strings.HasPrefix(d, "internal/") || (name == "federation" && d == "impersonate") {
					continue
				}
				t.Errorf("%s imports %s: acquisition packages import internal/ only (federation may import impersonate)", name, d)
			}
		case "verify":
			for _, d := range deps {
				if slices.Contains(acquisition, d) || d == "idtoken" {
					t.Errorf("verify imports acquisition package %s", d)
				}
			}
			for _, d := range p.Deps {
				if d == "golang.org/x/oauth2" || strings.HasPrefix(d, "golang.org/x/oauth2/") {
					t.Errorf("verify depends on %s: it must not need oauth2", d)
				}
			}
		case "idtokentest":
			for _, d := range deps {
				if !strings.HasPrefix(d, "internal/") || d == "internal/jwt" {
					t.Errorf("idtokentest imports %s: the emulator must sign and parse with its own code, never the library's", d)
				}
			}
		}

		// gRPC and OpenTelemetry only in the gRPC helper (and the examples).
		if name == "grpcauth" || isExample(path) {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "google.golang.org/grpc") || strings.HasPrefix(d, "go.opentelemetry.io/") {
				t.Errorf("%s depends on %s: only grpcauth may compile gRPC/OpenTelemetry", name, d)
				break
			}
		}
	}
}

func TestDependencyBudget(t *testing.T) {
	t.Parallel()
	all, own := load(t)
	if v := all[module+"/verify"]; v != nil {
		tp := thirdParty(all, v.Deps)
		t.Logf("verify: %d third-party packages", len(tp))
		if len(tp) > verifyBudget {
			t.Errorf("verify compiles %d third-party packages, budget %d:\n%s", len(tp), verifyBudget, strings.Join(tp, "\n"))
		}
	} else {
		t.Log("package verify not present in this tree: its budget is not checked")
	}
	// The library: every package but the gRPC helper, the emulator and the
	// examples.
	union := map[string]bool{}
	for _, path := range own {
		name := rel(path)
		if name == "grpcauth" || name == "idtokentest" || isExample(path) {
			continue
		}
		for _, d := range thirdParty(all, all[path].Deps) {
			union[d] = true
		}
	}
	var list []string
	for d := range union {
		list = append(list, d)
	}
	sort.Strings(list)
	t.Logf("library: %d third-party packages", len(list))
	if len(list) > libraryBudget {
		t.Errorf("the library compiles %d third-party packages, budget %d:\n%s", len(list), libraryBudget, strings.Join(list, "\n"))
	}
}
