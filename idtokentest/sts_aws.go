package idtokentest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

// TokenTypeAWS4Request is the subject_token_type of AWS-sourced
// credentials: the subject token is a signed AWS STS GetCallerIdentity
// request, serialized as Google's auth libraries do.
const TokenTypeAWS4Request = "urn:ietf:params:aws:token-type:aws4_request"

type awsCredential struct {
	secret string
	arn    string
}

// AddAWSCredentials makes an AWS provider (ProviderOptions.AWS) accept
// GetCallerIdentity requests signed with this access key: where Google
// would forward the request to AWS STS, the emulator checks the SigV4
// signature itself and takes the caller's ARN (e.g.
// arn:aws:sts::123456789012:assumed-role/ci/session) as google.subject,
// Google's default mapping for AWS. The principal is then Principal(arn).
func (p *Provider) AddAWSCredentials(accessKeyID, secretAccessKey, arn string) {
	st := p.e.sts()
	st.mu.Lock()
	sp := st.providers[p.audience]
	st.mu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.awsKeys == nil {
		sp.awsKeys = map[string]awsCredential{}
	}
	sp.awsKeys[accessKeyID] = awsCredential{secret: secretAccessKey, arn: arn}
}

// checkAWSSubjectToken validates a serialized, signed GetCallerIdentity
// request and returns the caller's ARN, or why it is refused.
func (e *Emulator) checkAWSSubjectToken(p *stsProvider, raw string) (sub, reason string) {
	unq, err := url.QueryUnescape(raw)
	if err != nil {
		return "", "Unable to parse the AWS subject token: not URL-encoded."
	}
	var req struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
	}
	if json.Unmarshal([]byte(unq), &req) != nil {
		return "", "Unable to parse the AWS subject token: not the JSON of a signed request."
	}
	u, err := url.Parse(req.URL)
	if err != nil || req.Method != "POST" || !strings.HasPrefix(u.Host, "sts.") || !strings.HasSuffix(u.Host, ".amazonaws.com") ||
		u.Query().Get("Action") != "GetCallerIdentity" {
		return "", "The AWS subject token must be a POST to AWS STS GetCallerIdentity."
	}
	headers := map[string][]string{}
	for _, h := range req.Headers {
		k := strings.ToLower(h.Key)
		headers[k] = append(headers[k], h.Value)
	}
	if tr := headers["x-goog-cloud-target-resource"]; len(tr) > 0 && !(len(tr) == 1 && (tr[0] == "//"+p.pool+p.providerSuffix || tr[0] == "https://"+p.pool+p.providerSuffix)) {
		return "", "The x-goog-cloud-target-resource header does not name this provider."
	}
	auth := strings.Join(headers["authorization"], "")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", "The AWS subject token has no AWS4-HMAC-SHA256 Authorization header."
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return "", "The AWS Authorization header has a malformed Credential."
	}
	p.mu.Lock()
	cred, known := p.awsKeys[scope[0]]
	p.mu.Unlock()
	if !known {
		return "", "AWS STS rejected the request: the security token included in the request is invalid."
	}
	amzDate := strings.Join(headers["x-amz-date"], "")
	ts, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || ts.Format("20060102") != scope[1] {
		return "", "The AWS request has no valid x-amz-date."
	}
	if d := e.now().Sub(ts); d > 15*time.Minute || d < -15*time.Minute {
		return "", "AWS STS rejected the request: signature expired (x-amz-date is more than 15 minutes from now)."
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canonHeaders strings.Builder
	for _, h := range signed {
		if h == "authorization" || len(headers[h]) == 0 {
			return "", "AWS STS rejected the request: SignedHeaders names a missing header."
		}
		fmt.Fprintf(&canonHeaders, "%s:%s\n", h, strings.Join(headers[h], ","))
	}
	q := u.Query()
	for k := range q {
		sort.Strings(q[k])
	}
	p2 := u.EscapedPath()
	if p2 == "" {
		p2 = "/"
	} else {
		p2 = path.Clean(p2)
	}
	emptyHash := sha256.Sum256(nil)
	canonical := strings.Join([]string{"POST", p2, q.Encode(), canonHeaders.String(), fields["SignedHeaders"], hex.EncodeToString(emptyHash[:])}, "\n")
	ch := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, strings.Join(scope[1:], "/"), hex.EncodeToString(ch[:])}, "\n")
	key := []byte("AWS4" + cred.secret)
	for _, s := range append(scope[1:], toSign) {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		key = m.Sum(nil)
	}
	if !hmac.Equal([]byte(hex.EncodeToString(key)), []byte(fields["Signature"])) {
		return "", "AWS STS rejected the request: the request signature we calculated does not match the signature you provided."
	}
	return cred.arn, ""
}
