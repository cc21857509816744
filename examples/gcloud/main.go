// Command gcloud prints an ID token (or access token) from the installed
// gcloud CLI through package gcloud, with the token's claims.
//
//	go run ./examples/gcloud -audience https://hello-abc123-uc.a.run.app \
//	    -impersonate invoker@PROJECT.iam.gserviceaccount.com
//
// With -emulate it runs the real gcloud against the offline emulator: a
// throwaway gcloud configuration directory, a service account key minted
// by the emulator and activated with `gcloud auth activate-service-account`,
// and every gcloud endpoint pointed at the emulator.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/gcloud"
	"github.com/idtokens/idtokens/idtokentest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		var ge *gcloud.Error
		if errors.As(err, &ge) && ge.ExitCode > 0 {
			os.Exit(ge.ExitCode)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gcloud", flag.ContinueOnError)
	fs.SetOutput(stdout)
	audience := fs.String("audience", "", "audience (--audiences); needs a service account")
	impersonate := fs.String("impersonate", "", "service account to impersonate")
	delegates := fs.String("delegates", "", "comma-separated delegation chain before -impersonate")
	includeEmail := fs.Bool("include-email", false, "include the email claim (with -impersonate)")
	account := fs.String("account", "", "gcloud account to use instead of the active one")
	access := fs.Bool("access-token", false, "print an access token instead of an ID token")
	binary := fs.String("gcloud", "", "gcloud binary (default: gcloud in PATH)")
	emulate := fs.Bool("emulate", false, "run the real gcloud against the offline emulator")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var env []string
	if *emulate {
		var cleanup func()
		var err error
		env, cleanup, err = emulated(ctx, stdout, *binary, audience, impersonate, delegates)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	var dl []string
	if *delegates != "" {
		dl = strings.Split(*delegates, ",")
	}
	var ts oauth2.TokenSource
	var err error
	if *access {
		ts, err = gcloud.NewAccessTokenSource(ctx, gcloud.AccessConfig{
			ImpersonateServiceAccount: *impersonate, Delegates: dl, Account: *account, Binary: *binary, Env: env,
		})
	} else {
		ts, err = gcloud.NewTokenSource(ctx, gcloud.Config{
			Audience: *audience, ImpersonateServiceAccount: *impersonate, Delegates: dl,
			IncludeEmail: *includeEmail, Account: *account, Binary: *binary, Env: env,
		})
	}
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token:   %s…\nexpires: %s (in %s)\n", tok.AccessToken[:min(24, len(tok.AccessToken))],
		tok.Expiry.Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second))
	if !*access {
		fmt.Fprintf(stdout, "claims:  %s\n", claims(tok.AccessToken))
	}
	return nil
}

// emulated starts the emulator, activates a service account it minted in
// a throwaway gcloud config, and returns the environment that points
// gcloud at the emulator. It fills in the flags the user left empty.
func emulated(ctx context.Context, stdout io.Writer, binary string, audience, impersonate, delegates *string) ([]string, func(), error) {
	if binary == "" {
		binary = "gcloud"
	}
	bin, err := exec.LookPath(binary)
	if err != nil {
		return nil, nil, fmt.Errorf("-emulate runs the real gcloud CLI, which is not installed: %w", err)
	}
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "gcloud-example-")
	if err != nil {
		emu.Close()
		return nil, nil, err
	}
	cleanup := func() { emu.Close(); os.RemoveAll(dir) }
	caller := emu.NewServiceAccount("developer")
	if *impersonate == "" {
		*impersonate = "invoker"
	}
	*impersonate = emu.NewServiceAccount(*impersonate).Email
	// Grant impersonation only along the chain asked for (caller, the
	// delegates, the target), as the IAM bindings would be for real.
	from := caller.Email
	if *delegates != "" {
		var emails []string
		for _, d := range strings.Split(*delegates, ",") {
			email := emu.NewServiceAccount(d).Email // a name or an email
			emu.AllowImpersonation(from, email)
			from = email
			emails = append(emails, email)
		}
		*delegates = strings.Join(emails, ",")
	}
	emu.AllowImpersonation(from, *impersonate)
	if *audience == "" {
		*audience = "https://hello-abc123-uc.a.run.app"
	}
	key := filepath.Join(dir, "key.json")
	if err := os.WriteFile(key, caller.KeyJSON(), 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}
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
	cmd := exec.CommandContext(ctx, bin, "auth", "activate-service-account", "--key-file="+key)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("gcloud auth activate-service-account: %w: %s", err, out)
	}
	fmt.Fprintf(stdout, "emulator at %s; gcloud signed in as %s, impersonating %s\n", emu.URL(), caller.Email, *impersonate)
	return env, cleanup, nil
}

func claims(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "(not a JWT)"
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "(undecodable)"
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return "(not JSON)"
	}
	out, _ := json.MarshalIndent(m, "         ", "  ")
	return string(out)
}
