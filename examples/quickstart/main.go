// Command quickstart runs every way this library gets an ID token, offline,
// against the idtokentest emulator, and calls a backend that checks each
// token. It needs no flags, no network and no Google account:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/metadata"
	"github.com/idtokens/idtokens/signin"
	"github.com/idtokens/idtokens/verify"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// method is one way of getting an ID token.
type method struct {
	name string
	// source builds the token source for audience against the emulator.
	source func(ctx context.Context, emu *idtokentest.Server, audience string) (oauth2.TokenSource, error)
	// userAudience marks a user sign-in: the token's audience is then the
	// OAuth client ID (what IAP accepts from allowlisted clients), not the
	// backend URL.
	userAudience bool
}

func methods(desktopClient idtokentest.OAuthClient) []method {
	return []method{
		{name: "keyfile (service account key)", source: func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			sa := emu.NewServiceAccount("quickstart-key")
			return keyfile.NewTokenSource(ctx, keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
		}},
		{name: "metadata (GCE / Cloud Run)", source: func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			emu.SetMetadataServiceAccount(emu.NewServiceAccount("quickstart-vm"))
			return metadata.NewTokenSource(ctx, metadata.Config{Audience: aud, Host: emu.MetadataHost()})
		}},
		{name: "impersonate (from gcloud user creds)", source: func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			base, target, err := developer(ctx, emu)
			if err != nil {
				return nil, err
			}
			return impersonate.NewTokenSource(ctx, impersonate.Config{
				Audience: aud, TargetPrincipal: target, IncludeEmail: true, Base: base, Endpoint: emu.IAMCredentialsURL(),
			})
		}},
		{name: "keyless (signJwt + jwt-bearer)", source: func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			base, target, err := developer(ctx, emu)
			if err != nil {
				return nil, err
			}
			return impersonate.NewKeylessTokenSource(ctx, impersonate.KeylessConfig{
				Audience: aud, ServiceAccount: target, Base: base, IAMEndpoint: emu.IAMCredentialsURL(), TokenURL: emu.TokenURL(),
			})
		}},
		{name: "federation (WIF, STS + generateIdToken)", source: func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			// A CI job whose OIDC token (here signed by an emulated external
			// IdP) is exchanged at STS; the federated principal may mint ID
			// tokens for the invoker account. No key anywhere.
			const subject = "repo:acme/app:ref:refs/heads/main"
			p := emu.RegisterProvider(idtokentest.ProviderOptions{Pool: "ci-pool", Provider: "github"})
			invoker := emu.NewServiceAccount("quickstart-ci")
			emu.AllowImpersonation(p.Principal(subject), invoker.Email)
			return federation.NewTokenSource(ctx, federation.Config{
				Audience:       aud,
				ServiceAccount: invoker.Email,
				IncludeEmail:   true,
				IAMEndpoint:    emu.IAMCredentialsURL(),
				External: &externalaccount.Config{
					Audience:         p.Audience(),
					SubjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
					TokenURL:         emu.STSURL(),
					Scopes:           []string{federation.CloudPlatformScope},
					SubjectTokenSupplier: federation.SubjectTokenFunc(func(context.Context, externalaccount.SupplierOptions) (string, error) {
						return p.SignSubjectToken(subject, "", 10*time.Minute), nil
					}),
				},
			})
		}},
		{name: "signin (user, loopback + PKCE)", userAudience: true, source: func(ctx context.Context, emu *idtokentest.Server, _ string) (oauth2.TokenSource, error) {
			// A person signs in from a CLI: the emulator auto-approves and
			// this program plays the browser by following its redirect.
			emu.SetSignInUser(emu.NewUser("ada@example.com"))
			return signin.NewTokenSource(ctx, signin.Config{
				ClientID: desktopClient.ID, ClientSecret: desktopClient.Secret,
				Store:   &memoryStore{},
				AuthURL: emu.AuthURL(), TokenURL: emu.TokenURL(),
				OpenBrowser: func(u string) error {
					resp, err := http.Get(u)
					if err != nil {
						return err
					}
					return resp.Body.Close()
				},
				Out: io.Discard,
			})
		}},
	}
}

// memoryStore keeps the signin refresh token in memory (use
// signin.FileStore in a real CLI).
type memoryStore struct{ rt string }

func (m *memoryStore) Load(context.Context) (string, error)    { return m.rt, nil }
func (m *memoryStore) Save(_ context.Context, rt string) error { m.rt = rt; return nil }

// developer sets up what `gcloud auth application-default login` leaves on
// a laptop (an authorized_user file) for a developer who holds Token
// Creator on an invoker service account, and returns the access-token base
// built from that file and the account's email.
func developer(ctx context.Context, emu *idtokentest.Server) (oauth2.TokenSource, string, error) {
	client := emu.NewOAuthClient()
	dev := emu.NewUser("dev@example.com")
	invoker := emu.NewServiceAccount("quickstart-invoker")
	emu.AllowImpersonation(dev.Email, invoker.Email)
	adc := emu.AuthorizedUserJSON(client, emu.IssueRefreshToken(client, dev))
	base, err := impersonate.AuthorizedUserBase(ctx, adc, nil)
	return base, invoker.Email, err
}

// seen is what the backend learnt from a caller's token.
type seen struct {
	Audience, Email string
	Expiry          time.Time
}

func run(ctx context.Context, out io.Writer) error {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		return err
	}
	defer emu.Close()

	// The backend's URL is the audience, so the verifier is built after the
	// listener exists: the handler looks it up through this pointer.
	var v *verify.Verifier
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendHandler(v).ServeHTTP(w, r)
	}))
	defer backend.Close()
	audience := backend.URL
	desktopClient := emu.NewOAuthClient() // the signin row's; the backend accepts its ID too
	if v, err = verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{audience, desktopClient.ID}, KeysURL: emu.CertsURL()}); err != nil {
		return err
	}
	if err := v.FetchKeys(ctx); err != nil { // warm up, so ROUND TRIPS counts acquisition only
		return err
	}

	fmt.Fprintf(out, "emulator: %s\nbackend:  %s (the audience)\n\n", emu.URL(), audience)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tAUDIENCE\tEMAIL\tEXPIRES IN\tROUND TRIPS")
	for _, m := range methods(desktopClient) {
		before := total(emu.Counts())
		ts, err := m.source(ctx, emu, audience)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		s, err := call(ctx, backend.URL, ts)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		audOK := "backend URL"
		want := audience
		if m.userAudience {
			audOK, want = "OAuth client ID", desktopClient.ID
		}
		if s.Audience != want {
			return fmt.Errorf("%s: backend saw audience %q, want %q", m.name, s.Audience, want)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", m.name, audOK, s.Email,
			time.Until(s.Expiry).Round(time.Minute), total(emu.Counts())-before)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "gcloud CLI (package gcloud) needs the gcloud binary: go run ./examples/gcloud -emulate")
	return iapDemo(ctx, emu, out)
}

func total(m map[idtokentest.Endpoint]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// call sends one request to the backend with the source's ID token.
func call(ctx context.Context, url string, ts oauth2.TokenSource) (*seen, error) {
	client := oauth2.NewClient(ctx, ts)
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("backend said %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var s seen
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 3 {
		return nil, fmt.Errorf("unexpected backend reply %q", body)
	}
	s.Audience, s.Email = lines[0], lines[1]
	if s.Expiry, err = time.Parse(time.RFC3339, lines[2]); err != nil {
		return nil, err
	}
	return &s, nil
}

// backendHandler is a Cloud Run-style service that verifies its callers'
// Google ID tokens itself (signature against the emulator's certs, issuer,
// audience, expiry) and reports the audience, email and expiry it saw.
func backendHandler(v *verify.Verifier) http.Handler {
	return verify.BearerMiddleware(v, verify.MiddlewareOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no verified identity", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s\n%s\n%s\n", strings.Join(c.Audience, ","), c.Email, c.Expiry.Format(time.RFC3339))
	}))
}

// iapDemo puts an app behind verify.IAPMiddleware and sends it what IAP
// would forward: a signed assertion plus the identity headers; then the
// same request with a forged email header, which must be refused.
func iapDemo(ctx context.Context, emu *idtokentest.Server, out io.Writer) error {
	aud := verify.IAPAudience(emu.ProjectNumber(), "4567890123456789")
	v, err := verify.New(verify.Config{Preset: verify.IAP, Audiences: []string{aud}, KeysURL: emu.IAPKeysURL()})
	if err != nil {
		return err
	}
	app := verify.IAPMiddleware(v, verify.MiddlewareOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprint(w, c.Email)
	}))
	srv := httptest.NewServer(app)
	defer srv.Close()
	assertion := emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: aud, Email: "alice@example.com", HostedDomain: "example.com"})
	send := func(email string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set(verify.IAPAssertionHeader, assertion)
		req.Header.Set(verify.IAPUserEmailHeader, "accounts.google.com:"+email)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), nil
	}
	code, body, err := send("alice@example.com")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("IAP demo: genuine request got %d", code)
	}
	fmt.Fprintf(out, "\nIAP backend (verify.IAPMiddleware): assertion for %s accepted (%d)\n", body, code)
	code, _, err = send("mallory@example.com")
	if err != nil {
		return err
	}
	if code != http.StatusUnauthorized {
		return fmt.Errorf("IAP demo: forged header got %d, want 401", code)
	}
	fmt.Fprintf(out, "IAP backend: same assertion with a forged X-Goog-Authenticated-User-Email refused (%d)\n", code)
	return nil
}
