package federation_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/google/externalaccount"

	"github.com/idtokens/idtokens/federation"
)

func FuzzParseExternalAccount(f *testing.F) {
	f.Add([]byte(`{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token","credential_source":{"file":"/var/run/token"}}`))
	f.Add([]byte(`{"type":"external_account","audience":"a","subject_token_type":"t","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken","credential_source":{"url":"http://169.254.169.254/token","headers":{"Metadata":"true"},"format":{"type":"json","subject_token_field_name":"access_token"}}}`))
	f.Add([]byte(`{"type":"external_account","audience":"//iam.googleapis.com/locations/global/workforcePools/p/providers/x","subject_token_type":"t","workforce_pool_user_project":"1","credential_source":{"executable":{"command":"/bin/tok","timeout_millis":5000}}}`))
	f.Add([]byte(`{"type":"external_account","audience":"a","subject_token_type":"urn:ietf:params:aws:token-type:aws4_request","credential_source":{"environment_id":"aws1","region_url":"http://169.254.169.254/latest/meta-data/placement/availability-zone","url":"http://169.254.169.254/latest/meta-data/iam/security-credentials","regional_cred_verification_url":"https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}}`))
	f.Add([]byte(`{"type":"external_account","credential_source":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ea, err := federation.ParseExternalAccount(data)
		if err != nil {
			if !errors.Is(err, federation.ErrInvalidCredentials) {
				t.Fatalf("error does not wrap ErrInvalidCredentials: %v", err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error text too long (%d bytes)", len(err.Error()))
			}
			return
		}
		c := ea.Config
		if c.Audience == "" || c.SubjectTokenType == "" || c.CredentialSource == nil {
			t.Fatalf("accepted without required fields: %+v", c)
		}
		if c.ServiceAccountImpersonationURL != "" && (ea.ServiceAccount == "" || ea.IAMEndpoint == "") {
			t.Fatal("impersonation URL accepted without a target")
		}
		// Construction must not panic on anything the parser accepts.
		_, _ = federation.NewTokenSource(context.Background(), federation.Config{Audience: "a", CredentialsJSON: data, ServiceAccount: "sa@p.iam.gserviceaccount.com"})
	})
}

func FuzzParseGenerateIDTokenReply(f *testing.F) {
	f.Add([]byte(`{"token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln"}`))
	f.Add([]byte(`{"token":""}`))
	f.Add([]byte(`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := federation.ParseGenerateIDTokenReply(body)
		if err == nil && tok == "" {
			t.Fatal("empty token without error")
		}
		if err != nil && !errors.Is(err, federation.ErrBadReply) && !errors.Is(err, federation.ErrNoIDToken) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzReplies feeds arbitrary STS and IAM replies (status and body) to the
// whole flow through an in-memory transport: it must fail cleanly or
// produce a token with the expiry of its exp claim.
func FuzzReplies(f *testing.F) {
	const idt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln"
	f.Add(200, []byte(`{"access_token":"ya29.x","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`), 200, []byte(`{"token":"`+idt+`"}`))
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"The audience in ID Token [x] does not match the expected audience."}`), 200, []byte(`{}`))
	f.Add(200, []byte(`{"access_token":"ya29.x","expires_in":0}`), 200, []byte(`{}`))
	f.Add(200, []byte(`{"access_token":"ya29.x","expires_in":3600}`), 403, []byte(`{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getOpenIdToken' denied","status":"PERMISSION_DENIED"}}`))
	f.Add(200, []byte(`{"access_token":"ya29.x","expires_in":3600}`), 200, []byte(`{"token":"a.b.c"}`))
	f.Fuzz(func(t *testing.T, stsStatus int, stsBody []byte, iamStatus int, iamBody []byte) {
		if stsStatus < 100 || stsStatus > 599 || iamStatus < 100 || iamStatus > 599 {
			return
		}
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			status, body := iamStatus, iamBody
			if strings.HasSuffix(r.URL.Path, "/v1/token") {
				status, body = stsStatus, stsBody
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})
		ts, err := federation.NewTokenSource(context.Background(), federation.Config{
			Audience: "a",
			External: &externalaccount.Config{
				Audience:         "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
				SubjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
				SubjectTokenSupplier: federation.SubjectTokenFunc(func(context.Context, externalaccount.SupplierOptions) (string, error) {
					return "SUBJECT-SECRET-7f3a", nil
				}),
			},
			ServiceAccount: "sa@p.iam.gserviceaccount.com",
			HTTPClient:     &http.Client{Transport: rt},
			Retry:          federation.Retry{MaxAttempts: 1},
			Now:            func() time.Time { return time.Unix(1_700_000_000, 0) },
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token()
		if err != nil {
			if strings.Contains(err.Error(), "SUBJECT-SECRET-7f3a") && !strings.Contains(string(stsBody)+string(iamBody), "SUBJECT-SECRET-7f3a") {
				t.Fatalf("subject token leaked into error: %v", err)
			}
			return
		}
		if tok.AccessToken == "" || tok.Expiry.IsZero() {
			t.Fatalf("bad token %+v", tok)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
