# Ignores SIGTERM (noting each one in ./<job>.term) so that only SIGKILL ends it.
trap 'echo term >> "$HOPPER_JOB_ID.term"' TERM
echo $$ > "$HOPPER_JOB_ID.started.tmp"
mv "$HOPPER_JOB_ID.started.tmp" "$HOPPER_JOB_ID.started"
while :; do sleep 0.1; done
