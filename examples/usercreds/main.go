// Command usercreds gets an ID token for any audience from a developer's
// gcloud user credentials: the authorized_user file that
// `gcloud auth application-default login` writes is refreshed into an
// access token, which impersonates a service account the developer holds
// roles/iam.serviceAccountTokenCreator on (Google's Go library refuses
// user credentials for ID tokens).
//
//	go run ./examples/usercreds -target invoker@my-project.iam.gserviceaccount.com \
//	    -audience https://my-service-abc123-uc.a.run.app
//	go run ./examples/usercreds -emulate   # offline, against idtokentest
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/internal/jwt"
)

func main() {
	home, _ := os.UserHomeDir()
	audience := flag.String("audience", "https://hello-abc123-uc.a.run.app", "aud of the token: the receiving service's URL")
	target := flag.String("target", "", "email of the service account to impersonate")
	creds := flag.String("credentials", filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), "authorized_user credentials file")
	keyless := flag.Bool("keyless", false, "use signJwt + token endpoint instead of generateIdToken")
	emulate := flag.Bool("emulate", false, "run against a local idtokentest emulator instead of Google")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, *audience, *target, *creds, *keyless, *emulate); err != nil {
		fmt.Fprintln(os.Stderr, "usercreds:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, audience, target, credsFile string, keyless, emulate bool) error {
	var adc []byte
	var iamURL, tokenURL string // empty: Google's
	if emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		client := emu.NewOAuthClient() // gcloud's OAuth client, in real life
		dev := emu.NewUser("dev@example.com")
		invoker := emu.NewServiceAccount("invoker")
		emu.AllowImpersonation(dev.Email, invoker.Email)
		adc = emu.AuthorizedUserJSON(client, emu.IssueRefreshToken(client, dev)) // token_uri: the emulator
		target, iamURL, tokenURL = invoker.Email, emu.IAMCredentialsURL(), emu.TokenURL()
	} else {
		var err error
		if adc, err = os.ReadFile(credsFile); err != nil {
			return fmt.Errorf("%w (run: gcloud auth application-default login)", err)
		}
	}
	base, err := impersonate.AuthorizedUserBase(ctx, adc, nil)
	if err != nil {
		return err
	}
	var src oauth2.TokenSource
	if keyless {
		src, err = impersonate.NewKeylessTokenSource(ctx, impersonate.KeylessConfig{
			Audience: audience, ServiceAccount: target, Base: base, IAMEndpoint: iamURL, TokenURL: tokenURL,
		})
	} else {
		src, err = impersonate.NewTokenSource(ctx, impersonate.Config{
			Audience: audience, TargetPrincipal: target, IncludeEmail: true, Base: base, Endpoint: iamURL,
		})
	}
	if err != nil {
		return err
	}
	tok, err := src.Token()
	if err != nil {
		return err
	}
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	if err != nil {
		return err
	}
	fmt.Printf("audience: %s\nemail:    %s\nsubject:  %s\nexpiry:   %s\n", strings.Join(c.Audience, ","), c.Email, c.Subject, tok.Expiry.Format(time.RFC3339))
	return nil
}
