package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/httpx"
)

// pythonRefresh is run by the Cloud SDK's bundled Python with its
// bundled google-auth: identity_pool.Credentials from a file-sourced
// external_account file, refreshed once.
const pythonRefresh = `
import json, sys
import google.auth
from google.auth import identity_pool
import google.auth.transport.requests
c = identity_pool.Credentials.from_file(sys.argv[1], scopes=["https://www.googleapis.com/auth/cloud-platform"])
c.refresh(google.auth.transport.requests.Request())
print(json.dumps({"token": c.token, "version": google.auth.__version__}))
`

// cloudSDKPython finds the gcloud SDK's Python and its third_party dir
// (where google-auth lives), or skips the test.
func cloudSDKPython(t *testing.T) (python, pythonPath string) {
	t.Helper()
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud not installed: no bundled google-auth to test against")
	}
	if real, err := filepath.EvalSymlinks(gcloud); err == nil {
		gcloud = real
	}
	root := filepath.Dir(filepath.Dir(gcloud))
	pythonPath = filepath.Join(root, "lib", "third_party")
	if _, err := os.Stat(filepath.Join(pythonPath, "google", "auth", "identity_pool.py")); err != nil {
		t.Skipf("no google-auth identity_pool under %s", pythonPath)
	}
	python = filepath.Join(root, "platform", "bundledpythonunix", "bin", "python3")
	if _, err := os.Stat(python); err != nil {
		if python, err = exec.LookPath("python3"); err != nil {
			t.Skip("no python3")
		}
	}
	return python, pythonPath
}

// Google's own Python client exchanges a subject token at the emulator's
// STS, and the federated token it gets is accepted by the emulator's IAM:
// the emulator speaks STS as Google's clients do.
func TestPythonGoogleAuthExchangesAtEmulatorSTS(t *testing.T) {
	t.Parallel()
	python, pythonPath := cloudSDKPython(t)
	f := newFixture(t, idtokentest.Options{}, idtokentest.ProviderOptions{})
	cred := filepath.Join(t.TempDir(), "cred.json")
	require.NoError(t, os.WriteFile(cred, f.fileJSON(""), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", pythonRefresh, cred)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python: %s", stderr.String())
	var got struct{ Token, Version string }
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	t.Logf("google-auth %s", got.Version)

	assert.True(t, strings.HasPrefix(got.Token, "ya29."), "an emulator access token")
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointSTS))

	// The federated token works at IAM as the principal of the subject.
	resp, err := httpx.Do(ctx, httpx.Options{Retry: httpx.Retry{MaxAttempts: 1}}, httpx.Request{
		Method: http.MethodPost,
		URL:    f.emu.IAMCredentialsURL() + "v1/projects/-/serviceAccounts/" + f.sa.Email + ":generateIdToken",
		Header: http.Header{"Authorization": {"Bearer " + got.Token}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"audience":"` + aud + `","includeEmail":true}`),
	})
	require.NoError(t, err)
	var reply struct{ Token string }
	require.NoError(t, json.Unmarshal(resp.Body, &reply))
	assert.Equal(t, 3, strings.Count(reply.Token, ".")+1)
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))

	// And a subject token the emulator refuses makes google-auth fail with
	// Google's error text.
	f.writeSubjectToken(t, f.p.SignSubjectToken(subject, "https://elsewhere.example", time.Hour))
	cmd = exec.CommandContext(ctx, python, "-c", pythonRefresh, cred)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	stderr.Reset()
	cmd.Stderr = &stderr
	_, err = cmd.Output()
	require.Error(t, err)
	assert.Contains(t, stderr.String(), "invalid_grant")
	assert.Contains(t, stderr.String(), "does not match the expected audience")
}
