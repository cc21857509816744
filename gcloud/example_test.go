package gcloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/idtokens/idtokens/gcloud"
)

// Call a Cloud Run service as a service account the developer may
// impersonate, with the credentials of the gcloud CLI.
func ExampleNewTokenSource() {
	ctx := context.Background()
	ts, err := gcloud.NewTokenSource(ctx, gcloud.Config{
		Audience:                  "https://hello-abc123-uc.a.run.app",
		ImpersonateServiceAccount: "invoker@my-project.iam.gserviceaccount.com",
	})
	if errors.Is(err, gcloud.ErrNotInstalled) {
		fmt.Println("no gcloud here")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	client := oauth2.NewClient(ctx, ts)
	resp, err := client.Get("https://hello-abc123-uc.a.run.app/")
	var ge *gcloud.Error
	if errors.As(err, &ge) {
		fmt.Println(ge.Message, "—", ge.Hint)
		return
	}
	if err == nil {
		resp.Body.Close()
		fmt.Println(resp.StatusCode == http.StatusOK)
	}
}
