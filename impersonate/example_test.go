package impersonate_test

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/idtokentest"
	"github.com/idtokens/idtokens/impersonate"
)

// A workload whose own credentials hold no key (here: an access token of
// the VM's service account) gets a key-file-style ID token for another
// service account: IAM signs the assertion, the token endpoint issues
// the token.
func ExampleNewKeylessTokenSource() {
	emu, err := idtokentest.Start(idtokentest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	vm := emu.NewServiceAccount("vm")
	invoker := emu.NewServiceAccount("iap-invoker")
	emu.AllowImpersonation(vm.Email, invoker.Email) // roles/iam.serviceAccountTokenCreator
	at, _ := emu.IssueAccessToken(vm.Email, 0)

	ts, err := impersonate.NewKeylessTokenSource(context.Background(), impersonate.KeylessConfig{
		Audience:       "1234-abc.apps.googleusercontent.com", // IAP's OAuth client ID
		ServiceAccount: invoker.Email,
		Base:           oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at}),
		IAMEndpoint:    emu.IAMCredentialsURL(), // on Google: leave empty
		TokenURL:       emu.TokenURL(),          // on Google: leave empty
	})
	if err != nil {
		panic(err)
	}
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType, len(tok.AccessToken) > 0)
	fmt.Println(emu.Count(idtokentest.EndpointSignJWT), emu.Count(idtokentest.EndpointToken))
	// Output:
	// Bearer true
	// 1 1
}
