package idtoken

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/federation"
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
	if d.opts.ImpersonateServiceAccount != "" {
		return nil, errMetadataImpersonation
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
