package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Store keeps the refresh token between runs of a program, so that a
// person signs in once rather than every run.
type Store interface {
	// Load returns the stored refresh token, or "" and a nil error when
	// none is stored.
	Load(ctx context.Context) (string, error)
	// Save replaces the stored refresh token. It must be atomic: after a
	// failed or interrupted Save, Load returns the old token or the new
	// one, never something else.
	Save(ctx context.Context, refreshToken string) error
}

// FileStore stores the refresh token in a file readable only by its owner
// (mode 0600, directory created 0700), as JSON {"refresh_token": "…"}.
// Load also reads an authorized_user file (the same field). Save writes a
// temporary file in the same directory and renames it over the old one,
// so the old token survives any failure. Nothing here ever deletes the
// file: a revoked token stays until a new sign-in replaces it.
type FileStore struct {
	Path string
}

type storedToken struct {
	RefreshToken string `json:"refresh_token"`
}

// maxStoreFile bounds what Load reads; a token file is under 1 KiB.
const maxStoreFile = 64 << 10

// Load implements Store.
func (f FileStore) Load(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if f.Path == "" {
		return "", fmt.Errorf("%w: FileStore.Path is empty", ErrStore)
	}
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrStore, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxStoreFile+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading %s: %w", ErrStore, f.Path, err)
	}
	if len(b) > maxStoreFile {
		return "", fmt.Errorf("%w: %s is too large to be a token file", ErrStore, f.Path)
	}
	var st storedToken
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("%w: %s is not a token file (not JSON); sign in with Config.ForceSignIn to replace it", ErrStore, f.Path)
	}
	return st.RefreshToken, nil
}

// Save implements Store.
func (f FileStore) Save(ctx context.Context, refreshToken string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.Path == "" {
		return fmt.Errorf("%w: FileStore.Path is empty", ErrStore)
	}
	data, err := json.MarshalIndent(storedToken{RefreshToken: refreshToken}, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("%w: writing %s: %w", ErrStore, tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	ok = true
	return nil
}
