package gcloud

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"time"
)

// maxOutput caps what is kept of gcloud's stdout and stderr. A token is
// about 1 KiB, config-helper's JSON a few.
const maxOutput = 1 << 20

// waitDelay is how long Wait waits for gcloud's children to close its
// pipes after gcloud itself was killed.
const waitDelay = 2 * time.Second

// run runs gcloud with args and returns its standard output, or an *Error.
// ctx and r.timeout bound the run; the process is killed when either ends.
func (r *runner) run(ctx context.Context, op string, args []string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, r.bin, args...)
	cmd.Env = r.env
	cmd.Stdin = nil // /dev/null: gcloud must never wait for input
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	command := "gcloud " + op
	if err == nil {
		if stdout.overflow {
			return nil, badOutput(op, "output exceeds 1 MiB")
		}
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, &Error{Command: command, ExitCode: -1, Message: "cancelled", Err: ctx.Err()}
	}
	if rctx.Err() != nil {
		return nil, &Error{Command: command, ExitCode: -1, Message: "killed after " + r.timeout.String(), Hint: hints[ErrTimeout], Err: ErrTimeout, cause: context.DeadlineExceeded}
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		// Started but could not run (vanished binary, bad interpreter,
		// permissions) or lost its pipes.
		sentinel := ErrFailed
		if errorsIsAny(err, exec.ErrNotFound, fs.ErrNotExist) {
			sentinel = ErrNotInstalled
		}
		return nil, &Error{Command: command, ExitCode: -1, Message: redact(err.Error()), Hint: hints[sentinel], Err: sentinel, cause: err}
	}
	msg := cleanStderr(stderr.String())
	sentinel := classify(stderr.String())
	if ee.ExitCode() == 127 && msg == "" {
		sentinel = ErrNotInstalled
	}
	return nil, &Error{Command: command, ExitCode: ee.ExitCode(), Message: msg, Hint: hints[sentinel], Err: sentinel}
}

// limitedBuffer keeps the first maxOutput bytes written to it and drops
// the rest, so a runaway gcloud cannot exhaust memory.
type limitedBuffer struct {
	bytes.Buffer
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
