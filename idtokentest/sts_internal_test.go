package idtokentest

import (
	"testing"
	"time"
)

// FuzzSTSSubjectToken: the STS checks of OIDC and AWS subject tokens
// never panic and never accept what was not signed by the provider.
func FuzzSTSSubjectToken(f *testing.F) {
	e := New(Options{})
	p := e.RegisterProvider(ProviderOptions{})
	aws := e.RegisterProvider(ProviderOptions{Pool: "aws", AWS: true})
	aws.AddAWSCredentials("AKIA", "secret", "arn:aws:sts::1:assumed-role/r/s")
	st := e.sts()
	st.mu.Lock()
	sp, sa := st.providers[p.Audience()], st.providers[aws.Audience()]
	st.mu.Unlock()
	good := p.SignSubjectToken("alice", "", time.Hour)
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("a.b.c")
	f.Add("%7B%22url%22%3A%22https%3A%2F%2Fsts.us-east-1.amazonaws.com%3FAction%3DGetCallerIdentity%22%2C%22method%22%3A%22POST%22%2C%22headers%22%3A%5B%7B%22key%22%3A%22Authorization%22%2C%22value%22%3A%22AWS4-HMAC-SHA256%20Credential%3DAKIA%2F20260101%2Fus-east-1%2Fsts%2Faws4_request%2C%20SignedHeaders%3Dhost%2C%20Signature%3D00%22%7D%5D%7D")
	f.Fuzz(func(t *testing.T, raw string) {
		if sub, reason := e.checkSubjectToken(sp, raw); reason == "" && (raw != good || sub != "alice") {
			t.Fatalf("accepted a token the issuer did not sign: %q", raw)
		}
		if _, reason := e.checkAWSSubjectToken(sa, raw); reason == "" {
			t.Fatalf("accepted an AWS request not signed with the secret: %q", raw)
		}
	})
}
