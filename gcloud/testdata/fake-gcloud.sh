#!/bin/sh
# A fake gcloud for the package's tests. It records its arguments (one a
# line) and environment, then behaves as the test asks through variables:
#   FAKE_GCLOUD_ARGV   file to write the arguments to
#   FAKE_GCLOUD_ENV    file to write the environment to
#   FAKE_GCLOUD_COUNT  file to append one line to per run
#   FAKE_GCLOUD_PID    file to write the process id to
#   FAKE_GCLOUD_SLEEP  seconds to sleep instead of answering
#   FAKE_GCLOUD_STDOUT / FAKE_GCLOUD_STDERR  what to print
#   FAKE_GCLOUD_EXIT   exit status (default 0)
[ -n "$FAKE_GCLOUD_ARGV" ] && printf '%s\n' "$@" > "$FAKE_GCLOUD_ARGV"
[ -n "$FAKE_GCLOUD_ENV" ] && env > "$FAKE_GCLOUD_ENV"
[ -n "$FAKE_GCLOUD_COUNT" ] && echo run >> "$FAKE_GCLOUD_COUNT"
[ -n "$FAKE_GCLOUD_PID" ] && echo $$ > "$FAKE_GCLOUD_PID"
[ -n "$FAKE_GCLOUD_SLEEP" ] && exec sleep "$FAKE_GCLOUD_SLEEP"
printf '%s' "$FAKE_GCLOUD_STDOUT"
printf '%s' "$FAKE_GCLOUD_STDERR" >&2
exit "${FAKE_GCLOUD_EXIT:-0}"
