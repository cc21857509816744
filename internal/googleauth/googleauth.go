// Package googleauth finds Google's Python auth library (google-auth, as
// bundled with the gcloud SDK) so tests can check that Google's own
// client works against the emulator. Test use only.
package googleauth

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Python returns the Python interpreter gcloud uses and the PYTHONPATH
// entry holding google-auth, or skips tb when either is missing.
func Python(tb testing.TB) (python, pythonPath string) {
	tb.Helper()
	sdk := sdkRoot()
	if sdk == "" {
		tb.Skip("gcloud SDK not found: skipping the google-auth interoperability test")
	}
	pythonPath = filepath.Join(sdk, "lib", "third_party")
	if _, err := os.Stat(filepath.Join(pythonPath, "google", "auth", "__init__.py")); err != nil {
		tb.Skipf("google-auth not found under %s", pythonPath)
	}
	for _, p := range []string{
		os.Getenv("CLOUDSDK_PYTHON"),
		filepath.Join(sdk, "platform", "bundledpythonunix", "bin", "python3"),
	} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path, pythonPath
		}
	}
	if path, err := exec.LookPath("python3"); err == nil {
		return path, pythonPath
	}
	tb.Skip("no Python interpreter for google-auth")
	return "", ""
}

func sdkRoot() string {
	for _, d := range []string{os.Getenv("CLOUDSDK_ROOT_DIR"), "/usr/lib/google-cloud-sdk", "/google-cloud-sdk", "/opt/google-cloud-sdk"} {
		if d != "" {
			if _, err := os.Stat(filepath.Join(d, "lib", "third_party")); err == nil {
				return d
			}
		}
	}
	if _, err := exec.LookPath("gcloud"); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gcloud", "info", "--format=value(installation.sdk_root)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Run runs script with python, google-auth importable and env added to
// a minimal environment (no credentials of the machine leak in), and
// returns its standard output.
func Run(tb testing.TB, script string, env ...string) string {
	tb.Helper()
	python, pythonPath := Python(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Env = append([]string{
		"PYTHONPATH=" + pythonPath,
		"HOME=" + tb.TempDir(),
		"PATH=" + os.Getenv("PATH"),
		"NO_PROXY=*",
		"GOOGLE_CLOUD_PROJECT=idtokens-emulator",
	}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("google-auth script failed: %v\n%s", err, stderr.String())
	}
	return string(out)
}
