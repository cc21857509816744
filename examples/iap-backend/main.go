// Command iap-backend is an HTTP backend behind Identity-Aware Proxy that
// trusts only the signed x-goog-iap-jwt-assertion header: package verify's
// IAPMiddleware checks it (ES256, IAP's keys, issuer, audience, expiry)
// and rejects requests whose plain X-Goog-Authenticated-User-* headers
// disagree with it, since those are forgeable when IAP is bypassed.
//
//	go run ./examples/iap-backend -addr :8080 -project-number 123456789012 -backend-service-id 987654321
//	go run ./examples/iap-backend -addr :8080 -project-number 123456789012 -app-engine-project my-project
//	go run ./examples/iap-backend -emulate   # offline: plays IAP against itself and exits
//
// The audience is /projects/NUMBER/global/backendServices/ID (IAP on a load
// balancer) or /projects/NUMBER/apps/PROJECT_ID (App Engine); find both
// in the IAP console ("Get JWT audience code").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iap-backend:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("iap-backend", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	projectNumber := fs.String("project-number", "", "Google Cloud project number")
	backendService := fs.String("backend-service-id", "", "backend service ID (IAP on a load balancer)")
	appEngineProject := fs.String("app-engine-project", "", "project ID (IAP on App Engine)")
	audience := fs.String("audience", "", "the expected aud, instead of -project-number with -backend-service-id or -app-engine-project")
	emulate := fs.Bool("emulate", false, "run offline: sign assertions with idtokentest, send a few requests, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := verify.Config{Preset: verify.IAP}
	var emu *idtokentest.Server
	if *emulate {
		var err error
		if emu, err = idtokentest.Start(idtokentest.Options{}); err != nil {
			return err
		}
		defer emu.Close()
		*addr, *projectNumber, *backendService = "127.0.0.1:0", emu.ProjectNumber(), "4242"
		cfg.KeysURL = emu.IAPKeysURL() // on Google: the default, www.gstatic.com
	}
	switch {
	case *audience != "":
	case *projectNumber != "" && *backendService != "":
		*audience = verify.IAPAudience(*projectNumber, *backendService)
	case *projectNumber != "" && *appEngineProject != "":
		*audience = verify.IAPAppEngineAudience(*projectNumber, *appEngineProject)
	default:
		return errors.New("set -audience, or -project-number with -backend-service-id or -app-engine-project (or try -emulate)")
	}
	cfg.Audiences = []string{*audience}
	v, err := verify.New(cfg)
	if err != nil {
		return err
	}

	logger := log.New(stdout, "", 0)
	mw := verify.IAPMiddleware(v, verify.MiddlewareOptions{OnError: func(r *http.Request, err error) {
		logger.Printf("rejected %s %s: %v", r.Method, r.URL.Path, err)
	}})
	handler := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello, %s\n", c.Email)
	}))

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	logger.Printf("listening on %s, audience %s", l.Addr(), *audience)

	if *emulate {
		err = playIAP(ctx, emu, "http://"+l.Addr().String(), *audience, logger)
	} else {
		<-ctx.Done()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// playIAP sends what IAP would forward (and what an attacker bypassing
// IAP might send) and prints how the backend answered.
func playIAP(ctx context.Context, emu *idtokentest.Server, url, audience string, logger *log.Logger) error {
	assertion := emu.MintIAPAssertion(idtokentest.IAPClaims{Audience: audience, Email: "alice@example.com", Subject: "accounts.google.com:1234567890"})
	cases := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"from IAP", map[string]string{
			verify.IAPAssertionHeader: assertion,
			verify.IAPUserEmailHeader: "accounts.google.com:alice@example.com",
			verify.IAPUserIDHeader:    "accounts.google.com:1234567890",
		}, http.StatusOK},
		{"no assertion (IAP bypassed)", map[string]string{verify.IAPUserEmailHeader: "accounts.google.com:alice@example.com"}, http.StatusUnauthorized},
		{"forged email header", map[string]string{
			verify.IAPAssertionHeader: assertion,
			verify.IAPUserEmailHeader: "accounts.google.com:admin@example.com",
		}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
		if err != nil {
			return err
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
		resp.Body.Close()
		logger.Printf("%s: %d %s", c.name, resp.StatusCode, bytesTrim(body))
		if resp.StatusCode != c.want {
			return fmt.Errorf("%s: got %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	return nil
}

func bytesTrim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}
