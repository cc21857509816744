package gcloud_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	googleidtoken "google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/idtokens/idtokens/gcloud"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
)

// TestRealGcloud runs the gcloud CLI installed on this machine, with a
// throwaway configuration directory, signed in with a key file the
// emulator minted and pointed at the emulator for everything, and checks
// that the tokens it prints are the emulator's and are accepted by
// Google's own validator. It skips where gcloud is not installed.
func TestRealGcloud(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud is not installed")
	}
	if testing.Short() {
		t.Skip("gcloud takes seconds per call")
	}
	emu := idtokentest.NewServer(t)
	caller := emu.NewServiceAccount("dev-laptop")
	delegate := emu.NewServiceAccount("delegate")
	target := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(caller.Email, delegate.Email)
	emu.AllowImpersonation(delegate.Email, target.Email)

	dir := t.TempDir()
	key := filepath.Join(dir, "key.json")
	require.NoError(t, os.WriteFile(key, caller.KeyJSON(), 0o600))
	env := []string{
		"CLOUDSDK_CONFIG=" + filepath.Join(dir, "config"),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS=" + emu.IAMCredentialsURL(),
		"CLOUDSDK_AUTH_TOKEN_HOST=" + emu.TokenURL(),
		"GCE_METADATA_ROOT=" + emu.MetadataHost(),
		"GCE_METADATA_IP=" + emu.MetadataHost(),
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	activate := exec.CommandContext(ctx, bin, "auth", "activate-service-account", "--key-file="+key)
	activate.Env = append(os.Environ(), env...)
	out, err := activate.CombinedOutput()
	require.NoError(t, err, "gcloud auth activate-service-account: %s", out)
	// Activation asked the emulator's token endpoint (for an access token
	// and an ID token with gcloud's own client ID as target_audience).
	require.Positive(t, emu.Count(idtokentest.EndpointToken))

	v, err := googleidtoken.NewValidator(ctx, option.WithHTTPClient(emu.Client()))
	require.NoError(t, err)

	t.Run("impersonated ID token through a delegate", func(t *testing.T) {
		ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{
			Audience: aud, ImpersonateServiceAccount: target.Email, Delegates: []string{delegate.Email},
			IncludeEmail: true, Binary: bin, Env: env,
		})
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		p, err := v.Validate(ctx, tok.AccessToken, aud)
		require.NoError(t, err, "Google's validator accepts gcloud's token")
		assert.Equal(t, target.Email, p.Claims["email"])
		assert.Equal(t, target.UniqueID, p.Subject)
		assert.True(t, time.Unix(p.Expires, 0).Equal(tok.Expiry), "Expiry is the exp claim")
		// Through the emulator's IAM Credentials API (gcloud 528 calls it
		// twice per print-identity-token).
		assert.Positive(t, emu.Count(idtokentest.EndpointGenerateIDToken))
		_, err = v.Validate(ctx, tok.AccessToken, "https://other.example")
		require.Error(t, err, "the oracle must reject a wrong audience, or this test proves nothing")
	})

	t.Run("access token as a base credential", func(t *testing.T) {
		ts, err := gcloud.NewAccessTokenSource(ctx, gcloud.AccessConfig{Binary: bin, Env: env})
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, 5*time.Minute, "gcloud reported the real expiry")
		// It is a base credential for package impersonate.
		emu.AllowImpersonation(caller.Email, target.Email)
		its, err := impersonate.NewTokenSource(ctx, impersonate.Config{
			Audience: aud, TargetPrincipal: target.Email, Base: ts, Endpoint: emu.IAMCredentialsURL(),
		})
		require.NoError(t, err)
		idt, err := its.Token()
		require.NoError(t, err)
		p, err := v.Validate(ctx, idt.AccessToken, aud)
		require.NoError(t, err)
		assert.Equal(t, target.UniqueID, p.Subject)
	})

	// A person's account, as `gcloud auth login` would leave it: a refresh
	// token for gcloud's own OAuth client (its ID and "not so secret"
	// secret ship with gcloud).
	gcloudClient := idtokentest.OAuthClient{ID: "32555940559.apps.googleusercontent.com", Secret: "ZmssLNjJy2998hD4CTg2ejr2"}
	user := emu.NewUser("ada@example.com")
	rt := emu.IssueRefreshToken(gcloudClient, user)
	login := exec.CommandContext(ctx, bin, "auth", "activate-refresh-token", user.Email, rt)
	login.Env = append(os.Environ(), env...)
	out, err = login.CombinedOutput()
	require.NoError(t, err, "gcloud auth activate-refresh-token: %s", out)

	t.Run("user account: ID token for gcloud's client", func(t *testing.T) {
		ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{Account: user.Email, Binary: bin, Env: env})
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		p, err := v.Validate(ctx, tok.AccessToken, gcloudClient.ID)
		require.NoError(t, err)
		assert.Equal(t, user.Email, p.Claims["email"])
	})

	t.Run("user account: custom audience refused", func(t *testing.T) {
		ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{Audience: aud, Account: user.Email, Binary: bin, Env: env})
		require.NoError(t, err)
		_, err = ts.Token()
		require.ErrorIs(t, err, gcloud.ErrAudiencesNeedServiceAccount)
		var ge *gcloud.Error
		require.ErrorAs(t, err, &ge)
		assert.Equal(t, "Invalid account type for `--audiences`. Requires valid service account.", ge.Message)
	})

	t.Run("user account: revoked", func(t *testing.T) {
		emu.RevokeRefreshToken(rt)
		ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{Account: user.Email, Binary: bin, Env: env})
		require.NoError(t, err)
		_, err = ts.Token()
		require.ErrorIs(t, err, gcloud.ErrReauth)
		assert.NotContains(t, err.Error(), rt)
	})

	t.Run("account without credentials", func(t *testing.T) {
		ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{Audience: aud, Account: "nobody@example.com", Binary: bin, Env: env})
		require.NoError(t, err)
		_, err = ts.Token()
		require.ErrorIs(t, err, gcloud.ErrNotLoggedIn)
		var ge *gcloud.Error
		require.ErrorAs(t, err, &ge)
		assert.Equal(t, 1, ge.ExitCode)
		assert.True(t, strings.HasPrefix(ge.Message, "Your current active account [nobody@example.com] does not have any valid credentials"), ge.Message)
	})
}
