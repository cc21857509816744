// Command keyfile gets an ID token for a service account from its key file
// (jwt-bearer with target_audience, package keyfile) and checks it with
// package verify. The account needs no IAM role to mint tokens for itself.
//
//	go run ./examples/keyfile -key sa.json -audience https://my-service-abc123-uc.a.run.app
//	go run ./examples/keyfile -emulate   # offline, against idtokentest
//
// -key defaults to $GOOGLE_APPLICATION_CREDENTIALS. The token itself is
// never printed unless -print-token is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/verify"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "keyfile:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keyfile", flag.ContinueOnError)
	fs.SetOutput(stdout)
	key := fs.String("key", os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), "service account key file (JSON)")
	audience := fs.String("audience", "https://hello-abc123-uc.a.run.app", "aud of the token: the receiving service's URL or IAP client ID")
	printToken := fs.Bool("print-token", false, "print the raw ID token (a credential: keep it out of logs)")
	emulate := fs.Bool("emulate", false, "run against a local idtokentest emulator instead of Google")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := keyfile.Config{Audience: *audience, CredentialsFile: *key}
	vcfg := verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{*audience}}
	if *emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		// A key file whose token_uri points at the emulator, as Google's
		// points at oauth2.googleapis.com.
		cfg.CredentialsFile, cfg.CredentialsJSON = "", emu.NewServiceAccount("example-key").KeyJSON()
		vcfg.KeysURL = emu.CertsURL() // on Google: the default certs URL
	} else if *key == "" {
		return errors.New("no key file: set -key or GOOGLE_APPLICATION_CREDENTIALS (or try -emulate)")
	}

	ts, err := keyfile.NewTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return err
	}
	v, err := verify.New(vcfg)
	if err != nil {
		return err
	}
	c, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		return fmt.Errorf("the token did not verify: %w", err)
	}
	fmt.Fprintf(stdout, "verified: yes\nissuer:   %s\naudience: %s\nemail:    %s\nexpires:  %s\n",
		c.Issuer, strings.Join(c.Audience, ","), c.Email, tok.Expiry.UTC().Format(time.RFC3339))
	if *printToken {
		fmt.Fprintln(stdout, tok.AccessToken)
	}
	return nil
}
