package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/httpx"
)

// callback is what the redirect brought.
type callback struct {
	code string
	err  error
}

// parseCallback reads the redirect's query: the state must match (checked
// first, so a forged redirect cannot even report an error), then either
// an error or a code. Errors never contain the code.
func parseCallback(q url.Values, wantState string) (string, error) {
	states := q["state"]
	if len(states) != 1 || wantState == "" ||
		subtle.ConstantTimeCompare([]byte(states[0]), []byte(wantState)) != 1 {
		return "", ErrStateMismatch
	}
	if e := q.Get("error"); e != "" || len(q["error"]) > 0 {
		if e == "access_denied" {
			return "", ErrAccessDenied
		}
		msg := cleanText(e)
		if d := q.Get("error_description"); d != "" {
			msg += ": " + cleanText(d)
		}
		return "", fmt.Errorf("%w: %s", ErrAuthorization, msg)
	}
	codes := q["code"]
	if len(codes) != 1 || codes[0] == "" {
		return "", ErrNoCode
	}
	return codes[0], nil
}

func randomState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// browserSignIn runs the OAuth 2.0 authorization code flow for installed
// apps: PKCE (S256), a loopback redirect on 127.0.0.1, state checked,
// then the code exchanged at the token endpoint.
func (s *session) browserSignIn(ctx context.Context, cfg Config) (*tokenReply, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("%w on 127.0.0.1:%d: %w", ErrListen, cfg.Port, err)
	}
	redirectURI := "http://" + ln.Addr().String() + "/"
	state, err := randomState()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("signin: %w", err)
	}
	verifier := oauth2.GenerateVerifier()
	oc := &oauth2.Config{
		ClientID:    cfg.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL},
		RedirectURL: redirectURI,
		Scopes:      cfg.Scopes,
	}
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)}
	if cfg.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", cfg.LoginHint))
	}
	if cfg.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", cfg.Prompt))
	}
	authURL := oc.AuthCodeURL(state, opts...)

	done := make(chan callback, 1)
	srv := &http.Server{
		Handler:           callbackHandler(state, done),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // a library does not write to the process's log
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
		<-serveErr
	}()

	open := cfg.OpenBrowser
	if open == nil {
		open = openSystemBrowser
	}
	w := out(cfg)
	if err := open(authURL); err != nil {
		fmt.Fprintf(w, "Go to the following link in your browser to sign in:\n\n    %s\n\n", authURL)
	} else {
		fmt.Fprintf(w, "Your browser has been opened to sign in. If it has not, visit:\n\n    %s\n\n", authURL)
	}

	var cb callback
	select {
	case cb = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("signin: waiting for the browser sign-in: %w", ctx.Err())
	}
	if cb.err != nil {
		return nil, cb.err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {cb.code},
		"redirect_uri":  {redirectURI},
		"client_id":     {cfg.ClientID},
		"code_verifier": {verifier},
	}
	if cfg.ClientSecret != "" {
		form.Set("client_secret", cfg.ClientSecret)
	}
	resp, err := httpx.PostForm(ctx, s.http, s.tokenURL, form)
	if err != nil {
		return nil, fmt.Errorf("signin: exchanging the authorization code: %w", err)
	}
	return parseTokenReply(resp.Body, s.now())
}

// callbackHandler serves the redirect: the first request to / decides the
// outcome; everything else is turned away.
func callbackHandler(state string, done chan<- callback) http.Handler {
	var mu sync.Mutex
	handled := false
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path != "/" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		first := !handled
		handled = true
		mu.Unlock()
		if !first {
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, page("This sign-in link was already used.", "Start again from the program."))
			return
		}
		code, err := parseCallback(r.URL.Query(), state)
		done <- callback{code: code, err: err} // buffered: never blocks
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, page("Sign-in failed.", err.Error()))
			return
		}
		fmt.Fprint(w, page("Signed in.", "You can close this window and return to the program."))
	})
}

func page(title, body string) string {
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head><body><h1>" + html.EscapeString(title) + "</h1><p>" + html.EscapeString(body) + "</p></body></html>"
}

// openSystemBrowser opens u in the desktop's browser. It fails where no
// browser can be shown, so the caller prints the URL instead.
func openSystemBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display")
		}
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap; the browser lives on
	return nil
}
