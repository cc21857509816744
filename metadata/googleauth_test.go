package metadata_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	googleidtoken "google.golang.org/api/idtoken"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/googleauth"
)

// Google's Python client (google-auth, as bundled with gcloud) gets an ID
// token from the emulator's metadata server exactly as it would on Cloud
// Run: ping, service-account info (recursive), identity with format=full,
// all with its lower-case metadata-flavor header. This proves the emulator
// speaks the real protocol, not just what this module sends.
const pyMetadata = `
import json, sys
import google.auth.transport.requests as tr
from google.auth import compute_engine
from google.auth.compute_engine import _metadata
req = tr.Request()
if not _metadata.ping(req):
    sys.exit("ping failed")
creds = compute_engine.IDTokenCredentials(req, sys.argv[1] if len(sys.argv) > 1 else "AUD", use_metadata_identity_endpoint=True)
creds.refresh(req)
print(json.dumps({"token": creds.token, "email": creds.service_account_email, "exp": int(creds.expiry.timestamp())}))
`

func TestGoogleAuthPythonMetadata(t *testing.T) {
	t.Parallel()
	emu, sa := newEmu(t)
	script := "import sys; sys.argv.append(" + jsonString(aud) + ")\n" + pyMetadata
	out := googleauth.Run(t, script,
		"GCE_METADATA_HOST="+emu.MetadataHost(),
		"GCE_METADATA_IP="+emu.MetadataHost())
	var got struct {
		Token string `json:"token"`
		Email string `json:"email"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, sa.Email, got.Email)
	c := payload(t, got.Token)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, sa.Email, c["email"])
	assert.Contains(t, c, "google", "google-auth asks for format=full")
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataIdentity))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Google's Go client (google.golang.org/api/idtoken) on "GCE": with
// GCE_METADATA_HOST pointing at the emulator and no other credentials,
// it detects the metadata server and gets its token from the emulator.
// Not parallel: it sets environment variables.
func TestGoogleGoClientMetadata(t *testing.T) {
	emu, sa := newEmu(t)
	t.Setenv("GCE_METADATA_HOST", emu.MetadataHost())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	ts, err := googleidtoken.NewTokenSource(context.Background(), aud)
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	c := payload(t, tok.AccessToken)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, sa.Email, c["email"])
	assert.Equal(t, 1, emu.Count(idtokentest.EndpointMetadataIdentity))
}
