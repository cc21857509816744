package verify_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verify stays small and independent: at most 20 third-party packages,
// and none of oauth2, grpc, otel or the acquisition packages.
func TestDependencyBudget(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not available")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	require.NoError(t, err)
	var third []string
	for _, p := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(p, "/")
		if !strings.Contains(first, ".") || strings.HasPrefix(p, "github.com/idtokens/idtokens/") {
			continue // standard library or this module
		}
		third = append(third, p)
		for _, banned := range []string{"golang.org/x/oauth2", "google.golang.org/grpc", "go.opentelemetry.io", "google.golang.org/api"} {
			assert.False(t, strings.HasPrefix(p, banned), "verify must not depend on %s", p)
		}
	}
	for _, p := range strings.Fields(string(out)) {
		for _, acq := range []string{"keyfile", "metadata", "impersonate", "federation", "idtoken", "idtokentest"} {
			assert.NotEqual(t, "github.com/idtokens/idtokens/"+acq, p)
		}
	}
	assert.LessOrEqual(t, len(third), 20, "third-party packages: %v", third)
	t.Logf("%d third-party packages", len(third))
}
