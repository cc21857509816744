package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/internal/cache"
	"github.com/idtokens/idtokens/internal/httpx"
)

// metadataAccessBase is a cached source of the attached service account's
// access tokens from the metadata server
// (/computeMetadata/v1/instance/service-accounts/default/token), the base
// for impersonating another account from a Google Cloud runtime.
func (d *detector) metadataAccessBase() oauth2.TokenSource {
	client := d.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	now := d.opts.Now
	if now == nil {
		now = time.Now
	}
	url := "http://" + d.metadataHost() + "/computeMetadata/v1/instance/service-accounts/default/token"
	opts := httpx.Options{Client: client, Now: now}
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		resp, err := httpx.Do(ctx, opts, httpx.Request{
			Method: http.MethodGet,
			URL:    url,
			Header: http.Header{"Metadata-Flavor": {"Google"}},
		})
		if err != nil {
			return nil, fmt.Errorf("idtoken: metadata access token: %w", err)
		}
		return parseMetadataToken(resp.Body, now())
	}
	return cache.New(fetch, cache.Options{Now: now})
}

// parseMetadataToken reads the metadata server's access token reply,
// {"access_token","expires_in","token_type"}. Errors never quote it.
func parseMetadataToken(body []byte, now time.Time) (*oauth2.Token, error) {
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, errors.New("idtoken: metadata access token reply is not the expected JSON")
	}
	if r.AccessToken == "" || r.ExpiresIn <= 0 || r.ExpiresIn > 24*3600 {
		return nil, errors.New("idtoken: metadata access token reply has no usable token or lifetime")
	}
	return &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer", Expiry: now.Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}
