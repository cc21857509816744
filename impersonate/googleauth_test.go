package impersonate_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/googleauth"
)

// Google's Python client (google-auth, bundled with gcloud) against the
// emulator: it refreshes the developer's authorized_user credentials at
// the emulator's token endpoint, then calls generateIdToken
// through impersonated_credentials.IDTokenCredentials, whose body holds
// "delegates": null. google-auth has no endpoint override for
// generateIdToken, so the script points its URL template at the emulator.
const pyImpersonate = `
import json, os
import google.auth.transport.requests as tr
from google.auth import iam, impersonated_credentials
from google.oauth2 import credentials as oauth2creds
iam._IAM_IDTOKEN_ENDPOINT = os.environ["EMU_IAM"] + "v1/projects/-/serviceAccounts/{}:generateIdToken"
req = tr.Request()
source = oauth2creds.Credentials.from_authorized_user_info(json.loads(os.environ["ADC"]))
# from_authorized_user_info ignores the file's token_uri (it always uses
# https://oauth2.googleapis.com/token); golang.org/x/oauth2 honours it.
source = source.with_token_uri(json.loads(os.environ["ADC"])["token_uri"])
target = impersonated_credentials.Credentials(
    source_credentials=source, target_principal=os.environ["TARGET"],
    target_scopes=["https://www.googleapis.com/auth/cloud-platform"])
idc = impersonated_credentials.IDTokenCredentials(target, target_audience=os.environ["AUD"], include_email=True)
idc.refresh(req)
print(json.dumps({"token": idc.token}))
`

func TestGoogleAuthPythonImpersonation(t *testing.T) {
	t.Parallel()
	f, creds, _, _ := userFixture(t)
	out := googleauth.Run(t, pyImpersonate,
		"EMU_IAM="+f.emu.IAMCredentialsURL(), "ADC="+string(creds),
		"TARGET="+f.target.Email, "AUD="+aud)
	var got struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	c := claims(t, got.Token)
	assert.Equal(t, aud, c["aud"])
	assert.Equal(t, f.target.Email, c["email"])
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointToken), "google-auth refreshed at the emulator")
	assert.Equal(t, 1, f.emu.Count(idtokentest.EndpointGenerateIDToken))
}
