// Command keyless gets an ID token for a service account without any key:
// IAM signJwt signs a jwt-bearer assertion carrying target_audience, and
// Google's token endpoint exchanges it for an ID token, the same one a key
// file would give (email always present). Useful for IAP programmatic
// access as a service account. Authenticated by Application Default
// Credentials; the caller needs roles/iam.serviceAccountTokenCreator on
// the service account.
//
//	go run ./examples/keyless -sa invoker@my-project.iam.gserviceaccount.com \
//	    -audience 1234-abc.apps.googleusercontent.com
//	go run ./examples/keyless -emulate   # offline, against idtokentest
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
	audience := flag.String("audience", "https://hello-abc123-uc.a.run.app", "target_audience: the receiving service's URL or the IAP OAuth client ID")
	sa := flag.String("sa", "", "email of the service account the token is for")
	delegates := flag.String("delegates", "", "comma-separated delegation chain (service account emails)")
	emulate := flag.Bool("emulate", false, "run against a local idtokentest emulator instead of Google")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var chain []string
	if *delegates != "" {
		chain = strings.Split(*delegates, ",")
	}
	if err := run(ctx, *audience, *sa, chain, *emulate); err != nil {
		fmt.Fprintln(os.Stderr, "keyless:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, audience, sa string, delegates []string, emulate bool) error {
	cfg := impersonate.KeylessConfig{Audience: audience, ServiceAccount: sa, Delegates: delegates}
	if emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		// The caller is the VM's service account; it signs for "invoker".
		vm := emu.NewServiceAccount("vm")
		invoker := emu.NewServiceAccount("invoker")
		emu.AllowImpersonation(vm.Email, invoker.Email)
		tok, expiry := emu.IssueAccessToken(vm.Email, 0)
		cfg.Base = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, Expiry: expiry})
		cfg.ServiceAccount, cfg.Delegates = invoker.Email, nil
		// On Google: leave both empty.
		cfg.IAMEndpoint, cfg.TokenURL = emu.IAMCredentialsURL(), emu.TokenURL()
	} else {
		base, err := google.DefaultTokenSource(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return fmt.Errorf("application default credentials: %w", err)
		}
		cfg.Base = base
	}
	ts, err := impersonate.NewKeylessTokenSource(ctx, cfg)
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
	fmt.Printf("audience: %s\nemail:    %s\nsubject:  %s\nexpiry:   %s\n", strings.Join(c.Audience, ","), c.Email, c.Subject, tok.Expiry.Format(time.RFC3339))
	return nil
}
