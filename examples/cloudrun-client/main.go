// Command cloudrun-client calls a Cloud Run service (or Cloud Function,
// or anything that checks Google ID tokens) with an *http.Client from
// idtoken.NewClient: credentials are found the way Google's libraries
// find Application Default Credentials, and each request carries
// "Authorization: Bearer <ID token>" for the service's URL.
//
//	go run ./examples/cloudrun-client -url https://hello-abc123-uc.a.run.app/
//	go run ./examples/cloudrun-client -url ... -impersonate runner@my-project.iam.gserviceaccount.com
//	go run ./examples/cloudrun-client -url ... -gcloud   # allow the gcloud CLI as a last resort
//	go run ./examples/cloudrun-client -url ... -explain  # print which credentials were found
//	go run ./examples/cloudrun-client -emulate            # offline: emulator + local backend
//
// The caller needs roles/run.invoker on the service (and, with
// -impersonate or user credentials, roles/iam.serviceAccountTokenCreator
// on the impersonated account).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cloudrun-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cloudrun-client", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("url", "", "URL to GET (required unless -emulate)")
	audience := fs.String("audience", "", "token audience (default: the URL's scheme://host, which Cloud Run accepts)")
	impersonate := fs.String("impersonate", "", "service account to impersonate (required with user credentials)")
	useGcloud := fs.Bool("gcloud", false, "allow the gcloud CLI as the last resort")
	explain := fs.Bool("explain", false, "print which credentials detection found, and where")
	emulate := fs.Bool("emulate", false, "run offline against idtokentest and a local backend that verifies the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := idtoken.Options{ImpersonateServiceAccount: *impersonate, UseGcloud: *useGcloud}

	if *emulate {
		emu, err := idtokentest.Start(idtokentest.Options{})
		if err != nil {
			return err
		}
		defer emu.Close()
		backend, err := startBackend(emu)
		if err != nil {
			return err
		}
		defer backend.Close()
		*target, *audience = backend.URL+"/hello", backend.URL

		// Detection with an injected environment: a key file named by
		// GOOGLE_APPLICATION_CREDENTIALS, as on a CI machine.
		dir, err := os.MkdirTemp("", "cloudrun-client")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		key := filepath.Join(dir, "key.json")
		if err := os.WriteFile(key, emu.NewServiceAccount("cloudrun-caller").KeyJSON(), 0o600); err != nil {
			return err
		}
		env := map[string]string{idtoken.EnvCredentials: key}
		opts.Getenv = func(k string) string { return env[k] }
		opts.HomeDir = func() (string, error) { return dir, nil }
	}
	if *target == "" {
		return errors.New("-url is required (or try -emulate)")
	}
	if *audience == "" {
		u, err := url.Parse(*target)
		if err != nil || u.Host == "" {
			return fmt.Errorf("-url %q is not an absolute URL", *target)
		}
		*audience = u.Scheme + "://" + u.Host
	}

	if *explain {
		d, err := idtoken.Detect(ctx, *audience, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credentials: %s (%s)\n", d.Method, d.Origin)
	}
	client, err := idtoken.NewClient(ctx, *audience, opts)
	if err != nil {
		return err
	}
	client.Timeout = 30 * time.Second

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "status: %s\n%s\n", resp.Status, body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the service answered %s", resp.Status)
	}
	return nil
}

// startBackend is a stand-in for the Cloud Run service: it accepts only
// requests whose ID token verifies for its own URL.
func startBackend(emu *idtokentest.Server) (*httptest.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	self := "http://" + l.Addr().String() // the audience it expects
	v, err := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{self}, KeysURL: emu.CertsURL()})
	if err != nil {
		l.Close()
		return nil, err
	}
	h := verify.BearerMiddleware(v, verify.MiddlewareOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello, %s", c.Email)
	}))
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	return srv, nil
}
