package keyfile_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/idtokens/idtokens/internal/secretscan"
	"github.com/idtokens/idtokens/keyfile"
)

// FuzzParseKey feeds arbitrary bytes to the key-file parser: it must never
// panic, must accept only complete service-account keys, must wrap
// ErrInvalidKey on failure and must never echo key material.
func FuzzParseKey(f *testing.F) {
	k, err := rsa.GenerateKey(rand.Reader, 1024) // small: seeds only
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pkcs8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	for _, pk := range []string{pkcs8, pkcs1, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ""} {
		b, _ := json.Marshal(map[string]string{
			"type": "service_account", "project_id": "p", "private_key_id": "kid",
			"private_key": pk, "client_email": "sa@p.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
		})
		f.Add(b)
	}
	f.Add([]byte(`{"type":"authorized_user"}`))
	f.Add([]byte(`{"type":5}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"service_account","client_email":"a","private_key":"x"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := keyfile.ParseKey(data)
		if err != nil {
			if !errors.Is(err, keyfile.ErrInvalidKey) {
				t.Fatalf("error does not wrap ErrInvalidKey: %v", err)
			}
			var raw struct {
				PrivateKey string `json:"private_key"`
			}
			if json.Unmarshal(data, &raw) == nil {
				secretscan.Check(t, err, raw.PrivateKey)
			}
			return
		}
		if key.Type != "service_account" || key.ClientEmail == "" || key.PrivateKey == "" || key.Signer == nil {
			t.Fatalf("accepted an incomplete key: %s", key)
		}
		if _, ok := key.Signer.Public().(*rsa.PublicKey); !ok {
			t.Fatalf("accepted a non-RSA key %T", key.Signer.Public())
		}
		if s := key.String(); s == "" || len(key.PrivateKey) > 20 && strings.Contains(s, key.PrivateKey[len(key.PrivateKey)/2:]) {
			t.Fatal("String leaks the key")
		}
	})
}
