package federation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
)

// A CI job with an OIDC token (here signed by the emulator's fake IdP)
// gets an ID token for a Cloud Run service: STS, then generateIdToken.
func ExampleNewTokenSource() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	provider := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "ci-pool", Provider: "github"})
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(provider.Principal("repo:acme/app:ref:refs/heads/main"), sa.Email)

	dir, err := os.MkdirTemp("", "federation-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "oidc-token")
	subjectToken := provider.SignSubjectToken("repo:acme/app:ref:refs/heads/main", "", time.Hour)
	if err := os.WriteFile(tokenFile, []byte(subjectToken), 0o600); err != nil {
		panic(err)
	}
	// What `gcloud iam workload-identity-pools create-cred-config` writes.
	credentials := provider.ExternalAccountJSON(idtokentest.ExternalAccountOptions{
		SubjectTokenFile: tokenFile,
		ServiceAccount:   sa.Email,
	})

	ts, err := federation.NewTokenSource(context.Background(), federation.Config{
		Audience:        "https://hello-abc123-uc.a.run.app",
		CredentialsJSON: credentials,
		IncludeEmail:    true,
	})
	if err != nil {
		panic(err)
	}
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}
	// Peek at the claims (a real caller just sends the token).
	var c struct {
		Audience string `json:"aud"`
		Email    string `json:"email"`
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.AccessToken, ".")[1])
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		panic(err)
	}
	fmt.Println("aud:", c.Audience)
	fmt.Println("email:", c.Email)
	fmt.Println("lifetime:", tok.Expiry.Sub(emu.Now()).Round(time.Hour))
	fmt.Println("round trips:", emu.Count(idtokentest.EndpointSTS)+emu.Count(idtokentest.EndpointGenerateIDToken))
	// Output:
	// aud: https://hello-abc123-uc.a.run.app
	// email: invoker@idtokens-emulator.iam.gserviceaccount.com
	// lifetime: 1h0m0s
	// round trips: 2
}
