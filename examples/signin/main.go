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
	clientID := flag.String("client-id", "", "OAuth client ID (Desktop app)")
	clientSecret := flag.String("client-secret", "", "OAuth client secret")
	store := flag.String("store", defaultStore(), "file keeping the refresh token")
	port := flag.Int("port", 0, "loopback port for the redirect (0: any)")
	force := flag.Bool("force", false, "sign in again even if a refresh token is stored")
	adc := flag.String("authorized-user", "", "instead of signing in, use this authorized_user JSON (gcloud auth application-default login)")
	emulate := flag.Bool("emulate", false, "run against the offline emulator")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	cfg := signin.Config{
		ClientID: *clientID, ClientSecret: *clientSecret,
		Store: signin.FileStore{Path: *store}, Port: *port, ForceSignIn: *force,
	}
	if *emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			fail(err)
		}
		defer emu.Close()
		client := emu.NewOAuthClient()
		user := emu.NewUser("ada@example.com")
		emu.SetSignInUser(user)
		dir, err := os.MkdirTemp("", "signin-example-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		cfg.ClientID, cfg.ClientSecret = client.ID, client.Secret
		cfg.AuthURL, cfg.TokenURL = emu.AuthURL(), emu.TokenURL()
		cfg.Store = signin.FileStore{Path: filepath.Join(dir, "token.json")}
		cfg.OpenBrowser = playBrowser
		if *adc != "" {
			*adc = filepath.Join(dir, "adc.json")
			rt := emu.IssueRefreshToken(client, user)
			if err := os.WriteFile(*adc, emu.AuthorizedUserJSON(client, rt), 0o600); err != nil {
				fail(err)
			}
		}
	}

	if *adc != "" {
		data, err := os.ReadFile(*adc)
		if err != nil {
			fail(err)
		}
		ts, err := signin.FromAuthorizedUser(ctx, data, signin.AuthorizedUserConfig{})
		if err != nil {
			fail(err)
		}
		tok, err := ts.Token()
		if err != nil {
			fail(err)
		}
		show(tok.AccessToken, tok.Expiry)
		return
	}
	if cfg.ClientID == "" {
		fail(errors.New("-client-id is required (or -emulate)"))
	}
	ts, err := signin.NewTokenSource(ctx, cfg)
	if err != nil {
		fail(err)
	}
	tok, err := ts.Token()
	if err != nil {
		fail(err)
	}
	show(tok.AccessToken, tok.Expiry)

	// The next run (here: a second source) uses the stored refresh token.
	cfg.ForceSignIn = false
	cfg.OpenBrowser = func(string) error { return errors.New("not expected: the refresh token is stored") }
	ts2, err := signin.NewTokenSource(ctx, cfg)
	if err != nil {
		fail(err)
	}
	if _, err := ts2.Token(); err != nil {
		fail(err)
	}
	fmt.Println("second source: refreshed without a browser, from", cfg.Store.(signin.FileStore).Path)
}

// playBrowser visits the sign-in URL and follows the emulator's redirect
// to the loopback listener, as a browser would after the user clicks
// "Allow".
func playBrowser(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func defaultStore() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "idtokens-example", "signin-token.json")
}

func show(raw string, exp time.Time) {
	fmt.Printf("ID token: %s…\nexpires:  %s\n", raw[:min(24, len(raw))], exp.Format(time.RFC3339))
	parts := strings.Split(raw, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				out, _ := json.MarshalIndent(m, "          ", "  ")
				fmt.Printf("claims:   %s\n", out)
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	if errors.Is(err, signin.ErrReauthRequired) {
		fmt.Fprintln(os.Stderr, "run again with -force to sign in again")
	}
	os.Exit(1)
}
