// Command metadata gets an ID token from the metadata server of the
// Google Cloud runtime it runs on (Compute Engine, GKE, Cloud Run, Cloud
// Functions), for the runtime's service account. No key, no IAM role.
//
//	go run ./examples/metadata -audience https://my-service-abc123-uc.a.run.app
//	go run ./examples/metadata -emulate   # offline, against idtokentest
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/metadata"
)

func main() {
	audience := flag.String("audience", "https://hello-abc123-uc.a.run.app", "aud of the token: the receiving service's URL")
	account := flag.String("account", "default", `"default" or the email of a service account attached to the instance`)
	format := flag.String("format", "full", `"full" (email and instance details) or "standard"`)
	licenses := flag.Bool("licenses", false, "include license codes (format full only)")
	emulate := flag.Bool("emulate", false, "run against a local idtokentest emulator instead of Google")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, *audience, *account, *format, *licenses, *emulate); err != nil {
		fmt.Fprintln(os.Stderr, "metadata:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, audience, account, format string, licenses, emulate bool) error {
	cfg := metadata.Config{Audience: audience, Account: account, Format: format, Licenses: licenses}
	if emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		sa := emu.NewServiceAccount("runtime")
		emu.SetMetadataServiceAccount(sa)
		if account != "default" {
			cfg.Account = sa.Email
		}
		cfg.Host = emu.MetadataHost() // on Google Cloud: leave empty
	}
	if !metadata.Probe(ctx, cfg) {
		return errors.New("no metadata server answers: not on Google Cloud (try -emulate)")
	}
	ts, err := metadata.NewTokenSource(ctx, cfg)
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
	fmt.Printf("audience: %s\nemail:    %s\nsubject:  %s\nexpiry:   %s\n", strings.Join(c.Audience, ","), orNone(c.Email), c.Subject, tok.Expiry.Format(time.RFC3339))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none: format standard)"
	}
	return s
}
