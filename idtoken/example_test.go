package idtoken_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtoken"
	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/verify"
)

// A client for a Cloud Run service. Here the service is a local backend
// behind verify.BearerMiddleware and Google is the emulator; in
// production, drop CredentialsJSON to let detection find the credentials.
func ExampleNewClient() {
	emu, _ := idtokentest.Start(idtokentest.Options{})
	defer emu.Close()
	key := emu.NewServiceAccount("caller").KeyJSON()

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	serviceURL := "http://" + l.Addr().String()
	v, _ := verify.New(verify.Config{Preset: verify.GoogleIDToken, Audiences: []string{serviceURL}, KeysURL: emu.CertsURL()})
	backend := &httptest.Server{Listener: l, Config: &http.Server{Handler: verify.BearerMiddleware(v, verify.MiddlewareOptions{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := verify.ClaimsFromContext(r.Context())
			fmt.Fprint(w, "hello, ", c.Email)
		}))}}
	backend.Start()
	defer backend.Close()

	client, err := idtoken.NewClient(context.Background(), serviceURL, idtoken.Options{CredentialsJSON: key})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.Get(serviceURL + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello, caller@idtokens-emulator.iam.gserviceaccount.com
}

// Detect reports how it found credentials. The environment is injected
// here; by default it is the process's.
func ExampleDetect() {
	emu, _ := idtokentest.Start(idtokentest.Options{})
	defer emu.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	keyPath := filepath.Join(dir, "key.json")
	_ = os.WriteFile(keyPath, emu.NewServiceAccount("ci").KeyJSON(), 0o600)
	env := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": keyPath}

	d, err := idtoken.Detect(context.Background(), "https://hello-abc123-uc.a.run.app", idtoken.Options{
		Getenv:  func(k string) string { return env[k] },
		HomeDir: func() (string, error) { return dir, nil },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := d.TokenSource.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Method, tok.TokenType, tok.Expiry.After(emu.Now()))
	// Output: service_account Bearer true
}

// When nothing applies, the error lists every step and why.
func ExampleNoCredentialsError() {
	env := map[string]string{"CLOUDSDK_CONFIG": "/nonexistent/gcloud"}
	_, err := idtoken.Detect(context.Background(), "https://hello-abc123-uc.a.run.app", idtoken.Options{
		Getenv: func(k string) string { return env[k] },
		OnGCE:  func(context.Context) bool { return false },
	})
	if nc, ok := err.(*idtoken.NoCredentialsError); ok {
		for _, a := range nc.Attempts {
			fmt.Println(a)
		}
	}
	// Output:
	// GOOGLE_APPLICATION_CREDENTIALS: not set
	// gcloud ADC file /nonexistent/gcloud/application_default_credentials.json: not found (run `gcloud auth application-default login` to create it)
	// metadata server: not detected (not running on Google Cloud, and GCE_METADATA_HOST is not set)
	// gcloud CLI: not enabled (set Options.UseGcloud to use `gcloud auth print-identity-token` as a last resort)
}

// ReuseTokenSource puts the module's cache in front of a source of raw
// ID tokens of your own (a file, a sidecar): one upstream call, Expiry
// from the token's exp.
func ExampleReuseTokenSource() {
	emu := idtokentest.New(idtokentest.Options{}) // only to mint a token
	calls := 0
	raw := oauth2.TokenSource(tokenFunc(func() (*oauth2.Token, error) {
		calls++
		return &oauth2.Token{AccessToken: emu.MintIDToken(idtokentest.IDTokenClaims{Audience: "https://svc.example"})}, nil
	}))
	ts := idtoken.ReuseTokenSource(raw, idtoken.ReuseOptions{})
	for range 3 {
		tok, _ := ts.Token()
		_ = tok
	}
	tok, _ := ts.TokenContext(context.Background())
	fmt.Println(calls, tok.TokenType, tok.Extra("id_token") == tok.AccessToken, !tok.Expiry.IsZero())
	// Output: 1 Bearer true true
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// Transport refuses to send a token over plain http to a remote host.
func ExampleTransport() {
	client := &http.Client{Transport: &idtoken.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "id-token"}),
	}}
	_, err := client.Get("http://example.com/")
	fmt.Println(err)
	// Output: Get "http://example.com/": idtoken: refusing to send an ID token over plain http to a non-loopback host (http://example.com)
}
