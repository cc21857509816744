// Command federation gets a Google-signed ID token for a Cloud Run
// service from a Workload Identity Federation credential
// (external_account) file: STS token exchange, then IAM generateIdToken
// for the target service account. Two round trips, no key file.
//
// For real (the federated principal needs roles/iam.workloadIdentityUser
// or roles/iam.serviceAccountOpenIdTokenCreator on the service account,
// and the service account roles/run.invoker on the service):
//
//	go run ./examples/federation -credentials cred.json \
//	    -audience https://hello-abc123-uc.a.run.app \
//	    -service-account invoker@my-project.iam.gserviceaccount.com
//
// -service-account may be left out when the file has a
// service_account_impersonation_url. -call also sends a GET to the
// audience URL with the token.
//
// Offline, against the idtokentest emulator (a fake OIDC IdP, STS and IAM):
//
//	go run ./examples/federation -emulate
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var he *federation.HTTPError
		if errors.As(err, &he) {
			fmt.Fprintf(os.Stderr, "  status %d, Google says %s: %s\n", he.StatusCode, he.Code, he.Description)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("federation", flag.ContinueOnError)
	fs.SetOutput(stdout)
	credentials := fs.String("credentials", os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), "external_account credential file (default $GOOGLE_APPLICATION_CREDENTIALS)")
	audience := fs.String("audience", "", "ID token audience, e.g. the Cloud Run service URL")
	serviceAccount := fs.String("service-account", "", "target service account email (default: from service_account_impersonation_url)")
	includeEmail := fs.Bool("include-email", true, "put the email claim in the token")
	call := fs.Bool("call", false, "send GET <audience> with the token and print the status")
	emulate := fs.Bool("emulate", false, "run offline against the idtokentest emulator")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := federation.Config{
		Audience:        *audience,
		CredentialsFile: *credentials,
		ServiceAccount:  *serviceAccount,
		IncludeEmail:    *includeEmail,
	}
	var emu *idtokentest.Server
	if *emulate {
		var cleanup func()
		var err error
		emu, cleanup, err = emulated(&cfg, stdout)
		if err != nil {
			return err
		}
		defer cleanup()
	} else if *credentials == "" || *audience == "" {
		fs.Usage()
		return errors.New("-credentials and -audience are required (or use -emulate)")
	}

	ts, err := federation.NewTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return err
	}
	claims, err := peek(tok.AccessToken)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "audience:", claims["aud"])
	if email, ok := claims["email"]; ok {
		fmt.Fprintln(stdout, "email:   ", email)
	}
	fmt.Fprintln(stdout, "subject: ", claims["sub"])
	fmt.Fprintf(stdout, "expiry:   %s (in %s)\n", tok.Expiry.UTC().Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second))
	if emu != nil {
		fmt.Fprintf(stdout, "round trips: STS %d, generateIdToken %d, generateAccessToken %d\n",
			emu.Count(idtokentest.EndpointSTS), emu.Count(idtokentest.EndpointGenerateIDToken), emu.Count(idtokentest.EndpointGenerateAccessToken))
	}
	if *call && emu == nil {
		return get(ctx, ts, *audience, stdout)
	}
	return nil
}

// emulated starts the emulator, a fake OIDC IdP (a pool provider), a
// service account the IdP's subject may get ID tokens for, and writes a
// subject token and an external_account file as a CI job would have.
func emulated(cfg *federation.Config, stdout io.Writer) (*idtokentest.Server, func(), error) {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "idtokens-federation")
	if err != nil {
		emu.Close()
		return nil, nil, err
	}
	cleanup := func() { emu.Close(); os.RemoveAll(dir) }
	const subject = "repo:acme/app:ref:refs/heads/main"
	p := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "ci-pool", Provider: "github"})
	sa := emu.NewServiceAccount("invoker")
	emu.AllowImpersonation(p.Principal(subject), sa.Email)
	tokenFile := filepath.Join(dir, "oidc-token")
	credFile := filepath.Join(dir, "cred.json")
	if err := os.WriteFile(tokenFile, []byte(p.SignSubjectToken(subject, "", time.Hour)), 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := os.WriteFile(credFile, p.ExternalAccountJSON(idtokentest.ExternalAccountOptions{SubjectTokenFile: tokenFile}), 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}
	fmt.Fprintln(stdout, "emulator:", emu.URL())
	fmt.Fprintln(stdout, "provider:", p.Audience())
	fmt.Fprintln(stdout, "principal:", p.Principal(subject))
	cfg.CredentialsFile = credFile
	cfg.CredentialsJSON = nil
	if cfg.Audience == "" {
		cfg.Audience = "https://hello-abc123-uc.a.run.app"
	}
	if cfg.ServiceAccount == "" {
		cfg.ServiceAccount = sa.Email
	}
	cfg.IAMEndpoint = emu.IAMCredentialsURL()
	return emu, cleanup, nil
}

// peek decodes the claims of a JWT without verifying it (for printing).
func peek(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func get(ctx context.Context, ts oauth2.TokenSource, target string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := oauth2.NewClient(ctx, ts).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Fprintf(stdout, "GET %s: %s\n%s\n", target, resp.Status, body)
	return nil
}
