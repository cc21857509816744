// Command impersonate gets an ID token for a service account through IAM
// Credentials generateIdToken, authenticated by Application Default
// Credentials (gcloud auth application-default login, a key file, the
// metadata server, or Workload Identity Federation). The caller needs
// roles/iam.serviceAccountTokenCreator on the target.
//
//	go run ./examples/impersonate -target invoker@my-project.iam.gserviceaccount.com \
//	    -audience https://my-service-abc123-uc.a.run.app -include-email
//	go run ./examples/impersonate -emulate   # offline, against idtokentest
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/internal/jwt"
)

func main() {
	audience := flag.String("audience", "https://hello-abc123-uc.a.run.app", "aud of the token: the receiving service's URL")
	target := flag.String("target", "", "email of the service account to impersonate")
	delegates := flag.String("delegates", "", "comma-separated delegation chain (service account emails)")
	includeEmail := flag.Bool("include-email", false, "put the target's email in the token")
	emulate := flag.Bool("emulate", false, "run against a local idtokentest emulator instead of Google")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var chain []string
	if *delegates != "" {
		chain = strings.Split(*delegates, ",")
	}
	if err := run(ctx, *audience, *target, chain, *includeEmail, *emulate); err != nil {
		fmt.Fprintln(os.Stderr, "impersonate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, audience, target string, delegates []string, includeEmail, emulate bool) error {
	cfg := impersonate.Config{Audience: audience, TargetPrincipal: target, Delegates: delegates, IncludeEmail: includeEmail}
	if emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		caller := emu.NewServiceAccount("caller")
		invoker := emu.NewServiceAccount("invoker")
		prev := caller.Email
		for i := range delegates { // replace the chain by emulated accounts
			hop := emu.NewServiceAccount(fmt.Sprintf("hop%d", i+1))
			emu.AllowImpersonation(prev, hop.Email)
			delegates[i], prev = hop.Email, hop.Email
		}
		emu.AllowImpersonation(prev, invoker.Email)
		tok, expiry := emu.IssueAccessToken(caller.Email, 0)
		cfg.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, Expiry: expiry})
		cfg.TargetPrincipal, cfg.Delegates = invoker.Email, delegates
		cfg.Endpoint = emu.IAMCredentialsURL() // on Google: leave empty
	} else {
		base, err := google.DefaultTokenSource(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return fmt.Errorf("application default credentials: %w", err)
		}
		cfg.Base = base
	}
	ts, err := impersonate.NewTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return err
	}
	c, err := jwt.UnverifiedClaims(tok.AccessToken)
	if err != nil {
		return err
	}
	email := c.Email
	if email == "" {
		email = "(none: use -include-email)"
	}
	fmt.Printf("audience: %s\nemail:    %s\nsubject:  %s\nexpiry:   %s\n", strings.Join(c.Audience, ","), email, c.Subject, tok.Expiry.Format(time.RFC3339))
	return nil
}
