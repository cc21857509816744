package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
	"github.com/idtokens/idtokens/internal/jwt"
)

// Google's endpoints.
const (
	DefaultAuthURL  = "https://accounts.google.com/o/oauth2/v2/auth"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
)

// Config configures NewTokenSource and NewAccessTokenSource. ClientID is
// required.
type Config struct {
	// ClientID and ClientSecret identify the OAuth client, of type
	// "Desktop app" (Google Auth Platform → Clients). A desktop client's
	// secret is not confidential (it ships in the program), but it is
	// never printed.
	ClientID     string
	ClientSecret string
	// Scopes to request; default "openid email". NewTokenSource needs
	// "openid"; add "https://www.googleapis.com/auth/cloud-platform" to
	// use NewAccessTokenSource as the base of package impersonate.
	Scopes []string

	// Store keeps the refresh token between runs; nil keeps it in memory
	// only (a sign-in per process). See FileStore.
	Store Store
	// ForceSignIn runs the browser sign-in even when Store holds a
	// refresh token, and replaces it: the way back from ErrReauthRequired.
	ForceSignIn bool
	// NonInteractive makes the constructors fail with ErrNotSignedIn
	// instead of starting a browser sign-in when Store holds no token.
	NonInteractive bool

	// Port is the loopback port for the redirect (0: any free port).
	// Google accepts any port on 127.0.0.1 for desktop clients.
	Port int
	// OpenBrowser opens the sign-in URL; nil means the system browser
	// (xdg-open, open, rundll32). The URL is printed to Out in any case,
	// for when no browser opens.
	OpenBrowser func(url string) error
	// Out receives the printed URL and instructions; nil means os.Stderr.
	Out io.Writer
	// LoginHint pre-fills the account chooser (an email address).
	LoginHint string
	// Prompt is sent as prompt= ("consent", "select_account"); empty
	// sends none.
	Prompt string

	// AuthURL and TokenURL override Google's endpoints (tests, emulator).
	AuthURL  string
	TokenURL string
	// HTTPClient sends the token requests; nil means a client with a
	// 30 s timeout.
	HTTPClient *http.Client
	// Retry bounds retries of transient failures (zero: defaults).
	Retry Retry
	// EarlyRefresh is how long before expiry a background refresh starts
	// (0: 5 min; negative: never early).
	EarlyRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewTokenSource returns a cached source of the signed-in person's ID
// tokens, whose audience is Config.ClientID (IAP accepts them when that
// client is allowlisted for programmatic access). It uses the refresh
// token in Config.Store, or, when there is none (or ForceSignIn), signs
// the person in through the browser first: ctx bounds that wait. ctx is
// not stored.
func NewTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	s, err := newSession(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	return cache.New(s.fetchID, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: s.now}), nil
}

// NewAccessTokenSource is NewTokenSource for the person's OAuth 2.0 access
// tokens (Expiry from expires_in; 5 min when the reply has none), e.g. as
// the base of package impersonate, which needs the cloud-platform scope
// in Config.Scopes.
func NewAccessTokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	s, err := newSession(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	return cache.New(s.fetchAccess, cache.Options{EarlyRefresh: cfg.EarlyRefresh, Now: s.now}), nil
}

// session holds a client's refresh token and turns it into tokens.
type session struct {
	clientID, clientSecret string
	tokenURL               string
	store                  Store
	http                   httpx.Options
	now                    func() time.Time

	mu      sync.Mutex
	rt      string
	initial *tokenReply // from the sign-in, handed out by the first fetch
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: %s %q is not an absolute http(s) URL", ErrInvalidConfig, name, raw)
	}
	return nil
}

func newSession(ctx context.Context, cfg Config, wantID bool) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signin: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: ClientID is required (an OAuth client of type Desktop app)", ErrInvalidConfig)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "email"}
	}
	if wantID && !slices.Contains(cfg.Scopes, "openid") {
		return nil, fmt.Errorf("%w: Scopes must include \"openid\" for ID tokens", ErrInvalidConfig)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: Port %d is out of range", ErrInvalidConfig, cfg.Port)
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if err := checkURL("AuthURL", cfg.AuthURL); err != nil {
		return nil, err
	}
	if err := checkURL("TokenURL", cfg.TokenURL); err != nil {
		return nil, err
	}
	s := newRefresher(cfg.ClientID, cfg.ClientSecret, cfg.TokenURL, cfg.HTTPClient, cfg.Retry, cfg.Now)
	s.store = cfg.Store
	if cfg.Store != nil && !cfg.ForceSignIn {
		rt, err := cfg.Store.Load(ctx)
		if err != nil {
			if errors.Is(err, ErrStore) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: loading: %w", ErrStore, err)
		}
		if rt != "" {
			s.rt = rt
			return s, nil
		}
	}
	if cfg.NonInteractive {
		return nil, ErrNotSignedIn
	}
	reply, err := s.browserSignIn(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if wantID {
		if _, err := s.idToken(reply); err != nil {
			return nil, err
		}
	}
	s.initial = reply
	if reply.RefreshToken != "" {
		s.rt = reply.RefreshToken
		if s.store != nil {
			if err := s.store.Save(ctx, reply.RefreshToken); err != nil {
				if errors.Is(err, ErrStore) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: saving: %w", ErrStore, err)
			}
		}
	}
	return s, nil
}

func newRefresher(clientID, secret, tokenURL string, client *http.Client, retry httpx.Retry, now func() time.Time) *session {
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = httpx.NewClient()
	}
	return &session{
		clientID: clientID, clientSecret: secret, tokenURL: tokenURL,
		http: httpx.Options{Client: client, Retry: retry, Now: now},
		now:  now,
	}
}

// defaultAccessTokenLifetime is assumed for an access token whose reply
// has no expires_in (Google always sends it).
const defaultAccessTokenLifetime = 5 * time.Minute

// tokenReply is the token endpoint's JSON reply.
type tokenReply struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`

	received time.Time
}

// parseTokenReply reads a token endpoint reply. Errors never quote it.
func parseTokenReply(body []byte, now time.Time) (*tokenReply, error) {
	var r tokenReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadReply)
	}
	if r.AccessToken == "" && r.IDToken == "" {
		return nil, fmt.Errorf("%w: no access_token", ErrBadReply)
	}
	if r.ExpiresIn < 0 || r.ExpiresIn > 366*24*3600 {
		return nil, fmt.Errorf("%w: expires_in out of range", ErrBadReply)
	}
	r.received = now
	return &r, nil
}

// idToken turns a reply into the cached token: the ID token, with a check
// that it is this client's.
func (s *session) idToken(r *tokenReply) (*oauth2.Token, error) {
	if r.IDToken == "" {
		return nil, ErrNoIDToken
	}
	tok, err := cache.FromIDToken(r.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	c, err := jwt.UnverifiedClaims(r.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !slices.Contains(c.Audience, s.clientID) {
		return nil, fmt.Errorf("%w: its audience is not the OAuth client", ErrInvalidToken)
	}
	return tok, nil
}

func (s *session) accessToken(r *tokenReply) (*oauth2.Token, error) {
	if r.AccessToken == "" {
		return nil, fmt.Errorf("%w: no access_token", ErrBadReply)
	}
	tok := &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer"}
	lifetime := defaultAccessTokenLifetime
	if r.ExpiresIn > 0 {
		lifetime = time.Duration(r.ExpiresIn) * time.Second
	}
	tok.Expiry = r.received.Add(lifetime)
	if r.IDToken != "" {
		tok = tok.WithExtra(map[string]any{"id_token": r.IDToken})
	}
	return tok, nil
}

func (s *session) fetchID(ctx context.Context) (*oauth2.Token, error) {
	r, err := s.next(ctx)
	if err != nil {
		return nil, err
	}
	return s.idToken(r)
}

func (s *session) fetchAccess(ctx context.Context) (*oauth2.Token, error) {
	r, err := s.next(ctx)
	if err != nil {
		return nil, err
	}
	return s.accessToken(r)
}

// next returns the sign-in's reply the first time, then refreshes.
func (s *session) next(ctx context.Context) (*tokenReply, error) {
	s.mu.Lock()
	r := s.initial
	s.initial = nil
	rt := s.rt
	s.mu.Unlock()
	if r != nil {
		return r, nil
	}
	return s.refresh(ctx, rt)
}

// refresh runs the refresh_token grant. It never writes to the store
// unless the server rotated the refresh token.
func (s *session) refresh(ctx context.Context, rt string) (*tokenReply, error) {
	if rt == "" {
		return nil, fmt.Errorf("%w (the sign-in returned no refresh token; try Prompt \"consent\")", ErrReauthRequired)
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {s.clientID},
	}
	if s.clientSecret != "" {
		form.Set("client_secret", s.clientSecret)
	}
	resp, err := httpx.PostForm(ctx, s.http, s.tokenURL, form)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Code == "invalid_grant" {
			return nil, fmt.Errorf("%w: %w", ErrReauthRequired, err)
		}
		return nil, fmt.Errorf("signin: refreshing: %w", err)
	}
	r, err := parseTokenReply(resp.Body, s.now())
	if err != nil {
		return nil, err
	}
	if r.RefreshToken != "" && r.RefreshToken != rt {
		s.mu.Lock()
		s.rt = r.RefreshToken
		s.mu.Unlock()
		if s.store != nil {
			if err := s.store.Save(ctx, r.RefreshToken); err != nil {
				return nil, fmt.Errorf("%w: saving the rotated refresh token: %w", ErrStore, err)
			}
		}
	}
	return r, nil
}

func out(cfg Config) io.Writer {
	if cfg.Out != nil {
		return cfg.Out
	}
	return os.Stderr
}

// cleanText keeps server-provided text printable and short.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
