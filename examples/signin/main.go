// Command signin signs a person in from the command line (the browser
// flow IAP's programmatic-access docs describe for desktop clients) and
// prints their ID token's claims, through package signin. The refresh
// token is kept in a 0600 file so the next run needs no browser.
//
//	go run ./examples/signin -client-id ID.apps.googleusercontent.com -client-secret GOCSPX-…
//
// The OAuth client must be of type "Desktop app". To call an IAP-protected
// app with the token, allowlist the client for programmatic access.
//
// With -emulate it runs against the offline emulator, which approves the
// sign-in at once, and plays the browser itself.
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
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/signin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, signin.ErrReauthRequired) {
			fmt.Fprintln(os.Stderr, "run again with -force to sign in again")
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("signin", flag.ContinueOnError)
	fs.SetOutput(stdout)
	clientID := fs.String("client-id", "", "OAuth client ID (Desktop app)")
	clientSecret := fs.String("client-secret", "", "OAuth client secret")
	store := fs.String("store", defaultStore(), "file keeping the refresh token")
	port := fs.Int("port", 0, "loopback port for the redirect (0: any)")
	force := fs.Bool("force", false, "sign in again even if a refresh token is stored")
	adc := fs.String("authorized-user", "", "instead of signing in, use this authorized_user JSON (gcloud auth application-default login)")
	emulate := fs.Bool("emulate", false, "run against the offline emulator")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := signin.Config{
		ClientID: *clientID, ClientSecret: *clientSecret,
		Store: signin.FileStore{Path: *store}, Port: *port, ForceSignIn: *force,
	}
	if *emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		client := emu.NewOAuthClient()
		user := emu.NewUser("ada@example.com")
		emu.SetSignInUser(user)
		dir, err := os.MkdirTemp("", "signin-example-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.ClientID, cfg.ClientSecret = client.ID, client.Secret
		cfg.AuthURL, cfg.TokenURL = emu.AuthURL(), emu.TokenURL()
		cfg.Store = signin.FileStore{Path: filepath.Join(dir, "token.json")}
		cfg.OpenBrowser = playBrowser(ctx)
		// The browser is played here, so its instructions are part of
		// the demonstration; for real they go to stderr.
		cfg.Out = stdout
		if *adc != "" {
			*adc = filepath.Join(dir, "adc.json")
			rt := emu.IssueRefreshToken(client, user)
			if err := os.WriteFile(*adc, emu.AuthorizedUserJSON(client, rt), 0o600); err != nil {
				return err
			}
		}
	}

	if *adc != "" {
		data, err := os.ReadFile(*adc)
		if err != nil {
			return err
		}
		ts, err := signin.FromAuthorizedUser(ctx, data, signin.AuthorizedUserConfig{})
		if err != nil {
			return err
		}
		tok, err := ts.Token()
		if err != nil {
			return err
		}
		show(stdout, tok.AccessToken, tok.Expiry)
		return nil
	}
	if cfg.ClientID == "" {
		return errors.New("-client-id is required (or -emulate)")
	}
	ts, err := signin.NewTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return err
	}
	show(stdout, tok.AccessToken, tok.Expiry)

	// The next run (here: a second source) uses the stored refresh token.
	cfg.ForceSignIn = false
	cfg.OpenBrowser = func(string) error { return errors.New("not expected: the refresh token is stored") }
	ts2, err := signin.NewTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	if _, err := ts2.Token(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "second source: refreshed without a browser, from", cfg.Store.(signin.FileStore).Path)
	return nil
}

// playBrowser visits the sign-in URL and follows the emulator's redirect
// to the loopback listener, as a browser would after the user clicks
// "Allow". It keeps no connections open afterwards.
func playBrowser(ctx context.Context) func(string) error {
	return func(u string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		browser := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		resp, err := browser.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
}

func defaultStore() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "idtokens-example", "signin-token.json")
}

func show(w io.Writer, raw string, exp time.Time) {
	fmt.Fprintf(w, "ID token: %s…\nexpires:  %s\n", raw[:min(24, len(raw))], exp.Format(time.RFC3339))
	parts := strings.Split(raw, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				out, _ := json.MarshalIndent(m, "          ", "  ")
				fmt.Fprintf(w, "claims:   %s\n", out)
			}
		}
	}
}
