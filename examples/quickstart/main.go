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
	"github.com/idtokens/idtokens/internal/jwt"
	"github.com/idtokens/idtokens/keyfile"
	"github.com/idtokens/idtokens/metadata"
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
}

func methods() []method {
	return []method{
		{"keyfile (service account key)", func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			sa := emu.NewServiceAccount("quickstart-key")
			return keyfile.NewTokenSource(ctx, keyfile.Config{Audience: aud, CredentialsJSON: sa.KeyJSON()})
		}},
		{"metadata (GCE / Cloud Run)", func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			emu.SetMetadataServiceAccount(emu.NewServiceAccount("quickstart-vm"))
			return metadata.NewTokenSource(ctx, metadata.Config{Audience: aud, Host: emu.MetadataHost()})
		}},
		{"impersonate (from gcloud user creds)", func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			base, target, err := developer(ctx, emu)
			if err != nil {
				return nil, err
			}
			return impersonate.NewTokenSource(ctx, impersonate.Config{
				Audience: aud, TargetPrincipal: target, IncludeEmail: true, Base: base, Endpoint: emu.IAMCredentialsURL(),
			})
		}},
		{"keyless (signJwt + jwt-bearer)", func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
			base, target, err := developer(ctx, emu)
			if err != nil {
				return nil, err
			}
			return impersonate.NewKeylessTokenSource(ctx, impersonate.KeylessConfig{
				Audience: aud, ServiceAccount: target, Base: base, IAMEndpoint: emu.IAMCredentialsURL(), TokenURL: emu.TokenURL(),
			})
		}},
		{"federation (WIF, STS + generateIdToken)", func(ctx context.Context, emu *idtokentest.Server, aud string) (oauth2.TokenSource, error) {
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
	}
}

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

	backend := httptest.NewServer(backendHandler())
	defer backend.Close()
	audience := backend.URL

	fmt.Fprintf(out, "emulator: %s\nbackend:  %s (the audience)\n\n", emu.URL(), audience)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tAUDIENCE OK\tEMAIL\tEXPIRES IN\tROUND TRIPS")
	for _, m := range methods() {
		before := total(emu.Counts())
		ts, err := m.source(ctx, emu, audience)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		s, err := call(ctx, backend.URL, ts)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%d\n", m.name, s.Audience == audience, s.Email,
			time.Until(s.Expiry).Round(time.Minute), total(emu.Counts())-before)
	}
	return tw.Flush()
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

// backendHandler reports the audience, email and expiry of the caller's
// token.
func backendHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "no bearer token", http.StatusUnauthorized)
			return
		}
		c, err := jwt.UnverifiedClaims(raw)
		if err != nil {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s\n%s\n%s\n", strings.Join(c.Audience, ","), c.Email, c.Expiry.Format(time.RFC3339))
	})
}
