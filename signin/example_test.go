package signin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/signin"
)

// A command-line tool signs its user in once, keeps the refresh token in
// a file, and sends the user's ID token to an IAP-protected app. Here the
// emulator plays Google and a plain HTTP client plays the browser.
func ExampleNewTokenSource() {
	emu, _ := idtokentest.Start(idtokentest.Options{})
	defer emu.Close()
	client := emu.NewOAuthClient() // your "Desktop app" OAuth client
	emu.SetSignInUser(emu.NewUser("ada@example.com"))
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	ts, err := signin.NewTokenSource(context.Background(), signin.Config{
		ClientID:     client.ID,
		ClientSecret: client.Secret,
		Store:        signin.FileStore{Path: filepath.Join(dir, "token.json")},
		OpenBrowser: func(url string) error { // a real program leaves this nil
			resp, err := http.Get(url)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			return err
		},
		Out:     io.Discard,
		AuthURL: emu.AuthURL(), TokenURL: emu.TokenURL(), // omit for Google
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := ts.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := jwt.UnverifiedClaims(tok.AccessToken)
	fmt.Println("signed in as", c.Email)
	fmt.Println("audience is the OAuth client:", c.Audience[0] == client.ID)
	// Output:
	// signed in as ada@example.com
	// audience is the OAuth client: true
}

// Application default credentials of a user give ID tokens for the
// credentials' own OAuth client.
func ExampleFromAuthorizedUser() {
	emu, _ := idtokentest.Start(idtokentest.Options{})
	defer emu.Close()
	client := emu.NewOAuthClient()
	rt := emu.IssueRefreshToken(client, emu.NewUser("ada@example.com"))
	adc := emu.AuthorizedUserJSON(client, rt) // ~/.config/gcloud/application_default_credentials.json

	ts, err := signin.FromAuthorizedUser(context.Background(), adc, signin.AuthorizedUserConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := ts.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := jwt.UnverifiedClaims(tok.AccessToken)
	fmt.Println(c.Email, c.Audience[0] == client.ID)
	// Output: ada@example.com true
}
