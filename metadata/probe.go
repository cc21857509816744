package metadata

import (
	"context"
	"net/http"
	"os"
	"time"
)

// ProbeTimeout bounds OnGCE and Probe whatever the context says: off
// Google Cloud, 169.254.169.254 usually drops packets, and a probe must
// not hang credential detection.
const ProbeTimeout = 2 * time.Second

// OnGCE reports whether a metadata server answers at GCE_METADATA_HOST,
// else 169.254.169.254: true means the program runs on a Google Cloud
// runtime (or next to an emulator). It sends one request and returns
// within ProbeTimeout (sooner if ctx ends).
//
// Unlike Google's metadata.OnGCE it does not take GCE_METADATA_HOST
// being set as proof: it asks that host.
func OnGCE(ctx context.Context) bool { return Probe(ctx, Config{}) }

// Probe is OnGCE for the metadata server cfg names: only cfg.Host and
// cfg.HTTPClient are used. The probe is GET http://HOST/ with
// Metadata-Flavor: Google; the server must answer with that header.
func Probe(ctx context.Context, cfg Config) bool {
	if checkHost(cfg.Host) != nil {
		return false
	}
	host := cfg.Host
	if host == "" {
		if host = os.Getenv(HostEnv); host == "" {
			host = DefaultHost
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Metadata-Flavor", "Google")
	client := cfg.HTTPClient
	if client == nil {
		t := defaultTransport()
		t.DisableKeepAlives = true // one request: leave no idle connection behind
		defer t.CloseIdleConnections()
		client = &http.Client{Transport: t}
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.Header.Get("Metadata-Flavor") == "Google"
}
