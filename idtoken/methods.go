package idtoken

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/federation"
	"github.com/idtokens/idtokens/gcloud"
	"github.com/idtokens/idtokens/impersonate"
	"github.com/idtokens/idtokens/metadata"
)

// metadataHost is the metadata server address, read through Getenv so
// that an injected environment is honoured end to end.
func (d *detector) metadataHost() string {
	if h := d.opts.Getenv(metadata.HostEnv); h != "" {
		return h
	}
	return metadata.DefaultHost
}

// defaultOnGCE probes the metadata server (at most metadata.ProbeTimeout).
func (d *detector) defaultOnGCE(ctx context.Context) bool {
	return metadata.Probe(ctx, metadata.Config{Host: d.metadataHost(), HTTPClient: d.opts.HTTPClient})
}

func (d *detector) fromMetadata() (*Detection, error) {
	if target := d.opts.ImpersonateServiceAccount; target != "" {
		// The attached account calls generateIdToken for the target.
		base, err := metadata.NewAccessTokenSource(d.ctx, metadata.AccessConfig{
			Host: d.metadataHost(), HTTPClient: d.opts.HTTPClient, Now: d.opts.Now,
		})
		if err != nil {
			return nil, err
		}
		ts, err := d.impersonate(base, target, d.opts.Delegates, "")
		if err != nil {
			return nil, fmt.Errorf("idtoken: impersonating from the metadata server: %w", err)
		}
		return &Detection{Method: MethodMetadata, Origin: "metadata server " + d.metadataHost(), Impersonated: target, TokenSource: ts}, nil
	}
	format := "full"
	if d.opts.OmitEmail {
		format = "standard"
	}
	ts, err := metadata.NewTokenSource(d.ctx, metadata.Config{
		Audience:     d.audience,
		Format:       format,
		Host:         d.metadataHost(),
		HTTPClient:   d.opts.HTTPClient,
		EarlyRefresh: d.opts.EarlyRefresh,
		Now:          d.opts.Now,
	})
	if err != nil {
		return nil, err
	}
	return &Detection{Method: MethodMetadata, Origin: "metadata server " + d.metadataHost(), TokenSource: ts}, nil
}

func (d *detector) federation(data []byte) (oauth2.TokenSource, error) {
	return federation.NewTokenSource(d.ctx, federation.Config{
		Audience:        d.audience,
		CredentialsJSON: data,
		ServiceAccount:  d.opts.ImpersonateServiceAccount,
		Delegates:       d.opts.Delegates,
		IncludeEmail:    !d.opts.OmitEmail,
		HTTPClient:      d.opts.HTTPClient,
		EarlyRefresh:    d.opts.EarlyRefresh,
		Now:             d.opts.Now,
	})
}

func (d *detector) impersonate(base oauth2.TokenSource, target string, delegates []string, endpoint string) (oauth2.TokenSource, error) {
	return impersonate.NewTokenSource(d.ctx, impersonate.Config{
		Audience:        d.audience,
		TargetPrincipal: target,
		Delegates:       delegates,
		IncludeEmail:    !d.opts.OmitEmail,
		Base:            base,
		Endpoint:        endpoint,
		HTTPClient:      d.opts.HTTPClient,
		EarlyRefresh:    d.opts.EarlyRefresh,
		Now:             d.opts.Now,
	})
}

// fromGcloud builds the gcloud CLI source. When gcloud is merely allowed
// (not forced) and is not installed, that is recorded as a step that did
// not apply.
func (d *detector) fromGcloud() (*Detection, error) {
	var env []string
	if dir := d.opts.Getenv("CLOUDSDK_CONFIG"); dir != "" {
		env = append(env, "CLOUDSDK_CONFIG="+dir) // the same configuration detection looked at
	}
	target := d.opts.ImpersonateServiceAccount
	ts, err := gcloud.NewTokenSource(d.ctx, gcloud.Config{
		Audience:                  d.audience,
		ImpersonateServiceAccount: target,
		Delegates:                 d.opts.Delegates,
		IncludeEmail:              target != "" && !d.opts.OmitEmail,
		Binary:                    d.opts.GcloudBinary,
		Env:                       env,
		EarlyRefresh:              d.opts.EarlyRefresh,
		Now:                       d.opts.Now,
	})
	if errors.Is(err, gcloud.ErrNotInstalled) && d.opts.Method == "" {
		d.attempts = append(d.attempts, Attempt{"gcloud CLI", "enabled by Options.UseGcloud but not installed (" + err.Error() + ")"})
		return nil, &NoCredentialsError{Attempts: d.attempts}
	}
	if err != nil {
		return nil, fmt.Errorf("idtoken: %w", err)
	}
	return &Detection{Method: MethodGcloud, Origin: "gcloud CLI", Impersonated: target, TokenSource: ts}, nil
}
